// A fictional school register in exactly the format of England's GIAS "all
// establishment data" CSV (docs/DATA.md): every column in order, Windows-1252
// text, CRLF line ends. Names, codes and coordinates are invented and marked
// "(fictional)"; URNs start at 900001, beyond the real register's range.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace schoolsim::tools {

struct FictionalOptions {
  std::uint64_t seed = 1;
  int schools = 24000;  // open primary and secondary state schools
  int areas = 150;      // local authorities
  // Rows of other kinds (closed, special, pupil referral units, nursery,
  // 16 plus, independent) per open mainstream school: the real register
  // has about 50,000 rows for about 24,000 such schools.
  double other_rows = 1.1;
};

// The whole file, as bytes.
std::string fictional_register(const FictionalOptions& options);

// The GIAS header, in order.
const std::vector<std::string>& gias_header_columns();
// One CSV line (with CRLF) of the given columns' values, empty elsewhere;
// values are written as given (Windows-1252 bytes), quoted where needed.
std::string gias_row(const std::map<std::string, std::string>& values);
// The header line (with CRLF).
std::string gias_header_line();

}  // namespace schoolsim::tools

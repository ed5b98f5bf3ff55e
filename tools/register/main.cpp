// schoolsim-fictional-register: writes a fictional school register in the
// format of England's GIAS "all establishment data" CSV (docs/DATA.md).
#include "sim/cli/cli11.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "tools/register/fictional_register.hpp"

int main(int argc, char** argv) try {
  schoolsim::tools::FictionalOptions o;
  std::string out;
  CLI::App app{
      "Writes a fictional school register in exactly the format of England's Get Information About Schools "
      "(GIAS) \"all establishment data\" CSV: Windows-1252, every column in order. Names, codes and "
      "coordinates are invented and marked (fictional); URNs start at 900001. For tests, examples and "
      "teaching; see docs/DATA.md for the real register.",
      "schoolsim-fictional-register"};
  app.add_option("-o,--output", out, "file to write (written whole, or not at all)")->required();
  app.add_option("--schools", o.schools, "open primary and secondary state schools")
      ->check(CLI::Range(2, 1000000))->capture_default_str();
  app.add_option("--areas", o.areas, "local authorities (at most 298)")->check(CLI::Range(1, 298))->capture_default_str();
  app.add_option("--seed", o.seed, "random seed; the same seed gives the same bytes")->capture_default_str();
  app.add_option("--other-rows", o.other_rows,
                 "rows of other kinds (closed, special, pupil referral units, nursery, 16 plus, independent) per "
                 "open school")
      ->check(CLI::Range(0.0, 10.0))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.areas > o.schools) o.areas = o.schools;
  const std::string bytes = schoolsim::tools::fictional_register(o);
  const std::filesystem::path tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f.good()) {
      std::cerr << "schoolsim-fictional-register: cannot write " << tmp.string() << '\n';
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return 1;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, out, ec);
  if (ec) {
    std::cerr << "schoolsim-fictional-register: cannot write " << out << ": " << ec.message() << '\n';
    std::filesystem::remove(tmp, ec);
    return 1;
  }
  return 0;
} catch (const std::exception& e) {  // e.g. out of memory: say so, exit 1, never abort
  std::cerr << "schoolsim-fictional-register: " << e.what() << '\n';
  return 1;
}

// The HDF5 output file (sim/io/output.hpp, docs/OUTPUT.md): written by hand-built
// Recordings and read back through the HDF5 C API.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sim/io/compare.hpp"
#include "sim/io/h5.hpp"
#include "sim/io/output.hpp"

namespace fs = std::filesystem;
using namespace schoolsim;

namespace {

// A fresh directory under the system's temporary directory, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("schoolsim_test_output_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

constexpr std::int32_t kN = 4;
constexpr std::int32_t kWidth = 3;

RunMeta make_meta() {
  RunMeta m;
  m.scenario_name = "unit-test";
  m.scenario_yaml = "name: unit-test\nseed: 42\nyears: 2\n# caf\xc3\xa9\n";
  m.seed = 0x123456789abcdef0ULL;
  m.replicates = 2;
  m.years = 2;
  m.program_version = "0.1.0-test";
  return m;
}

// A hand-built recording: 4 schools in 2 areas, 2 series rows, 2 attainment
// years, 3 system rows and 2 tie events. `salt` varies the values.
Recording make_recording(std::int32_t replicate = 0, float salt = 0) {
  Recording r;
  r.replicate = replicate;
  r.n_schools = kN;
  r.n_areas = 2;
  r.initial.allocate(kN, 2, kWidth);
  for (int i = 0; i < kN; ++i) {
    r.initial.places[i] = 100 * (i + 1);
    r.initial.phase[i] = i % 2;
    r.initial.area[i] = i / 2;
    r.initial.x[i] = 1.25 * i;
    r.initial.y[i] = -0.5 * i;
  }

  r.series_terms = {0, 3};
  SeriesBuffer cap{Field::capacity, 1, {}, {}};
  SeriesBuffer pup{Field::pupils, 1, {}, {}};
  SeriesBuffer prac{Field::practice, kWidth, {}, {}};
  for (int row = 0; row < 2; ++row)
    for (int i = 0; i < kN; ++i) {
      cap.real.push_back(0.25f * static_cast<float>(row) + 0.125f * static_cast<float>(i) + salt);
      pup.integer.push_back(1000 * row + i);
      for (int d = 0; d < kWidth; ++d) prac.real.push_back(static_cast<float>(100 * row + 10 * i + d));
    }
  r.series = {cap, pup, prac};

  r.attainment_years = {0, 1};
  for (int y = 0; y < 2; ++y)
    for (int i = 0; i < kN; ++i) {
      r.attainment_dis.push_back(-0.5f + 0.25f * static_cast<float>(y) + 0.0625f * static_cast<float>(i));
      r.attainment_adv.push_back(0.5f + 0.25f * static_cast<float>(y) - 0.0625f * static_cast<float>(i));
    }

  r.system_terms = {0, 1, 2};
  r.system.resize(kMeasureCount);
  for (std::size_t m = 0; m < kMeasureCount; ++m)
    for (int row = 0; row < 3; ++row) r.system[m].push_back(10.0 * static_cast<double>(m) + row + 0.5);

  r.tie_events = {
      TieEvent{0, 7, 0, 1, TieKind::programme, TieEventType::formed, TieReason::programme},
      TieEvent{2, 7, 0, 1, TieKind::programme, TieEventType::dissolved, TieReason::funding_ended},
  };
  r.final_state = r.initial;
  return r;
}

std::string file_bytes(const fs::path& p) {
  std::string bytes(static_cast<std::size_t>(fs::file_size(p)), '\0');
  std::ifstream in(p, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(in.good());
  return bytes;
}

void write_file(const fs::path& dest, const std::vector<Recording>& recs) {
  OutputFile out(dest, make_meta());
  for (const auto& r : recs) out.write(r);
  out.commit();
}

// ---------------------------------------------------------------- readers

h5::File open_file(const fs::path& p) {
  return h5::File(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + p.string());
}

h5::Dataset open_dataset(hid_t file, const std::string& path) {
  return h5::Dataset(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "open " + path);
}

bool exists(hid_t file, const std::string& path) { return H5Lexists(file, path.c_str(), H5P_DEFAULT) > 0; }

// True if the dataset's stored type equals `type` (e.g. H5T_IEEE_F32LE).
bool has_type(hid_t ds, hid_t type) {
  const h5::Datatype t(H5Dget_type(ds), "get type");
  return H5Tequal(t.id(), type) > 0;
}

template <class T>
std::vector<T> read_all(hid_t file, const std::string& path, std::vector<hsize_t>* dims = nullptr) {
  const h5::Dataset ds = open_dataset(file, path);
  const auto d = h5::dims_of(ds.id());
  if (dims) *dims = d;
  hsize_t n = 1;
  for (auto x : d) n *= x;
  std::vector<T> v(n);
  if (n > 0) h5::check(H5Dread(ds.id(), h5::TypeOf<T>::mem(), h5::kAll, h5::kAll, H5P_DEFAULT, v.data()), path);
  return v;
}

std::string read_string_dataset(hid_t file, const std::string& path) {
  const h5::Dataset ds = open_dataset(file, path);
  const h5::Datatype type = h5::utf8_string_type();
  char* p = nullptr;
  h5::check(H5Dread(ds.id(), type.id(), h5::kAll, h5::kAll, H5P_DEFAULT, &p), path);
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

// The names of an enum type, in value order 0, 1, ...
std::vector<std::string> enum_names(hid_t enum_type) {
  std::vector<std::string> names;
  const int n = H5Tget_nmembers(enum_type);
  for (int i = 0; i < n; ++i) {
    std::uint8_t v = 0;
    h5::check(H5Tget_member_value(enum_type, static_cast<unsigned>(i), &v), "member value");
    CHECK(v == i);
    char* name = H5Tget_member_name(enum_type, static_cast<unsigned>(i));
    names.emplace_back(name);
    H5free_memory(name);
  }
  return names;
}

std::vector<std::string> to_strings(const auto& views) { return {views.begin(), views.end()}; }

struct TieRow {
  std::int32_t term;
  std::uint64_t tie;
  std::int32_t school_a;
  std::int32_t school_b;
  std::uint8_t kind;
  std::uint8_t event;
  std::uint8_t reason;
};

// The name of value `v` in member `member` of the compound type `compound`.
std::string enum_name(hid_t compound, const char* member, std::uint8_t v) {
  const int idx = H5Tget_member_index(compound, member);
  const h5::Datatype t(H5Tget_member_type(compound, static_cast<unsigned>(idx)), "member type");
  char buf[64] = {};
  h5::check(H5Tenum_nameof(t.id(), &v, buf, sizeof buf), "enum name");
  return buf;
}

std::vector<TieRow> read_ties(hid_t file, const std::string& path) {
  const h5::Dataset ds = open_dataset(file, path);
  const h5::Datatype ftype(H5Dget_type(ds.id()), "get type");
  // Memory type: the file's enum member types with native bases, at TieRow's offsets.
  const h5::Datatype mtype(H5Tcreate(H5T_COMPOUND, sizeof(TieRow)), "create compound");
  struct M {
    const char* name;
    std::size_t offset;
  };
  const M members[] = {{"term", offsetof(TieRow, term)},         {"tie", offsetof(TieRow, tie)},
                       {"school_a", offsetof(TieRow, school_a)}, {"school_b", offsetof(TieRow, school_b)},
                       {"kind", offsetof(TieRow, kind)},         {"event", offsetof(TieRow, event)},
                       {"reason", offsetof(TieRow, reason)}};
  for (const auto& m : members) {
    const int idx = H5Tget_member_index(ftype.id(), m.name);
    REQUIRE(idx >= 0);
    const h5::Datatype f(H5Tget_member_type(ftype.id(), static_cast<unsigned>(idx)), "member type");
    const h5::Datatype native(H5Tget_native_type(f.id(), H5T_DIR_ASCEND), "native type");
    h5::check(H5Tinsert(mtype.id(), m.name, m.offset, native.id()), "insert");
  }
  const auto d = h5::dims_of(ds.id());
  REQUIRE(d.size() == 1);
  std::vector<TieRow> rows(d[0]);
  if (!rows.empty())
    h5::check(H5Dread(ds.id(), mtype.id(), h5::kAll, h5::kAll, H5P_DEFAULT, rows.data()), "read ties");
  return rows;
}

}  // namespace

TEST_CASE("output file: every group dataset and attribute reads back exactly") {
  TempDir dir;
  const fs::path dest = dir.path / "nested" / "run.h5";  // parent directories are created
  {
    OutputFile out(dest, make_meta());
    CHECK(out.temporary_path().parent_path() == dest.parent_path());
    CHECK(fs::exists(out.temporary_path()));
    CHECK_FALSE(fs::exists(dest));
    out.write(make_recording(0));
    out.write(make_recording(1, 0.5f));
    out.commit();
    CHECK_FALSE(fs::exists(out.temporary_path()));
  }
  REQUIRE(fs::exists(dest));
  CHECK(std::distance(fs::directory_iterator(dest.parent_path()), fs::directory_iterator()) == 1);

  const h5::File f = open_file(dest);
  const hid_t fid = f.id();

  SUBCASE("meta") {
    const h5::Group meta = h5::open_group(fid, "meta");
    CHECK(h5::read_scalar_attribute<std::int32_t>(meta.id(), "schema_version") == kSchemaVersion);
    CHECK(h5::read_string_attribute(meta.id(), "program") == "schoolsim");
    CHECK(h5::read_string_attribute(meta.id(), "program_version") == "0.1.0-test");
    CHECK(h5::read_scalar_attribute<std::uint64_t>(meta.id(), "seed") == 0x123456789abcdef0ULL);
    CHECK(h5::read_scalar_attribute<std::int32_t>(meta.id(), "replicates") == 2);
    CHECK(h5::read_scalar_attribute<std::int32_t>(meta.id(), "years") == 2);
    CHECK(h5::read_string_attribute(meta.id(), "scenario_name") == "unit-test");
    CHECK(read_string_dataset(fid, "/meta/scenario") == make_meta().scenario_yaml);
    const h5::Attribute a(H5Aopen(meta.id(), "seed", H5P_DEFAULT), "open seed");
    const h5::Datatype t(H5Aget_type(a.id()), "seed type");
    CHECK(H5Tequal(t.id(), H5T_STD_U64LE) > 0);
  }

  SUBCASE("schools") {
    const Recording r = make_recording(0);
    std::vector<hsize_t> d;
    CHECK(read_all<std::int32_t>(fid, "/replicates/0/schools/places", &d) ==
          std::vector<std::int32_t>{100, 200, 300, 400});
    CHECK(d == std::vector<hsize_t>{kN});
    CHECK(read_all<std::int32_t>(fid, "/replicates/0/schools/phase") == std::vector<std::int32_t>{0, 1, 0, 1});
    CHECK(read_all<std::int32_t>(fid, "/replicates/0/schools/area") == std::vector<std::int32_t>{0, 0, 1, 1});
    CHECK(read_all<double>(fid, "/replicates/0/schools/x") == std::vector<double>{0, 1.25, 2.5, 3.75});
    CHECK(read_all<double>(fid, "/replicates/0/schools/y") == std::vector<double>{0, -0.5, -1.0, -1.5});
    CHECK(has_type(open_dataset(fid, "/replicates/0/schools/x").id(), H5T_IEEE_F64LE));
    CHECK(has_type(open_dataset(fid, "/replicates/0/schools/places").id(), H5T_STD_I32LE));
    // Only the fixed fields are there.
    CHECK_FALSE(exists(fid, "/replicates/0/schools/capacity"));
    const h5::Dataset x = open_dataset(fid, "/replicates/0/schools/x");
    CHECK(h5::read_string_attribute(x.id(), "unit") == "km");
    CHECK(h5::read_string_attribute(x.id(), "meaning") == std::string(info(Field::x).meaning));
    const h5::Group rep = h5::open_group(fid, "/replicates/0");
    CHECK(h5::read_scalar_attribute<std::int32_t>(rep.id(), "n_schools") == kN);
    CHECK(h5::read_scalar_attribute<std::int32_t>(rep.id(), "n_areas") == 2);
  }

  SUBCASE("series") {
    for (int k = 0; k < 2; ++k) {
      const Recording r = make_recording(k, k == 0 ? 0.f : 0.5f);
      const std::string g = "/replicates/" + std::to_string(k) + "/series/";
      std::vector<hsize_t> d;
      CHECK(read_all<std::int32_t>(fid, g + "term", &d) == std::vector<std::int32_t>{0, 3});
      CHECK(d == std::vector<hsize_t>{2});
      CHECK(read_all<float>(fid, g + "capacity", &d) == r.series[0].real);
      CHECK(d == std::vector<hsize_t>{2, kN});
      CHECK(read_all<std::int32_t>(fid, g + "pupils", &d) == r.series[1].integer);
      CHECK(d == std::vector<hsize_t>{2, kN});
      CHECK(read_all<float>(fid, g + "practice", &d) == r.series[2].real);
      CHECK(d == std::vector<hsize_t>{2, kN, kWidth});
    }
    const h5::Dataset cap = open_dataset(fid, "/replicates/0/series/capacity");
    CHECK(has_type(cap.id(), H5T_IEEE_F32LE));
    CHECK(has_type(open_dataset(fid, "/replicates/0/series/practice").id(), H5T_IEEE_F32LE));
    CHECK(has_type(open_dataset(fid, "/replicates/0/series/pupils").id(), H5T_STD_I32LE));
    CHECK(h5::read_string_attribute(cap.id(), "unit") == "[0,1]");
    CHECK(h5::read_string_attribute(cap.id(), "meaning") == std::string(info(Field::capacity).meaning));
    // Uncompressed by default, and then contiguous (chunks would only add padding).
    const h5::Plist dcpl(H5Dget_create_plist(cap.id()), "dcpl");
    CHECK(H5Pget_layout(dcpl.id()) == H5D_CONTIGUOUS);
    CHECK(H5Pget_nfilters(dcpl.id()) == 0);
    CHECK_FALSE(exists(fid, "/replicates/0/series/expectations"));
  }

  SUBCASE("attainment") {
    const Recording r = make_recording(0);
    std::vector<hsize_t> d;
    CHECK(read_all<std::int32_t>(fid, "/replicates/0/attainment/year") == std::vector<std::int32_t>{0, 1});
    CHECK(read_all<float>(fid, "/replicates/0/attainment/attainment_dis", &d) == r.attainment_dis);
    CHECK(d == std::vector<hsize_t>{2, kN});
    CHECK(read_all<float>(fid, "/replicates/0/attainment/attainment_adv", &d) == r.attainment_adv);
    CHECK(d == std::vector<hsize_t>{2, kN});
    CHECK(has_type(open_dataset(fid, "/replicates/0/attainment/attainment_adv").id(), H5T_IEEE_F32LE));
  }

  SUBCASE("system") {
    const Recording r = make_recording(0);
    CHECK(read_all<std::int32_t>(fid, "/replicates/0/system/term") == std::vector<std::int32_t>{0, 1, 2});
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      const std::string path = "/replicates/0/system/" + std::string(kSystemMeasures[m].name);
      std::vector<hsize_t> d;
      CHECK(read_all<double>(fid, path, &d) == r.system[m]);
      CHECK(d == std::vector<hsize_t>{3});
      const h5::Dataset ds = open_dataset(fid, path);
      CHECK(has_type(ds.id(), H5T_IEEE_F64LE));
      CHECK(h5::read_string_attribute(ds.id(), "unit") == std::string(kSystemMeasures[m].unit));
      CHECK(h5::read_string_attribute(ds.id(), "meaning") == std::string(kSystemMeasures[m].meaning));
      CHECK(h5::read_scalar_attribute<std::int32_t>(ds.id(), "count") == (kSystemMeasures[m].count ? 1 : 0));
    }
  }

  SUBCASE("ties") {
    const auto rows = read_ties(fid, "/replicates/0/ties");
    REQUIRE(rows.size() == 2);
    const h5::Dataset ds = open_dataset(fid, "/replicates/0/ties");
    const h5::Datatype t(H5Dget_type(ds.id()), "type");
    CHECK(H5Tget_class(t.id()) == H5T_COMPOUND);
    CHECK(H5Tget_nmembers(t.id()) == 7);
    const auto member = [&](const char* name) {
      return h5::Datatype(H5Tget_member_type(t.id(), static_cast<unsigned>(H5Tget_member_index(t.id(), name))),
                          name);
    };
    CHECK(H5Tequal(member("term").id(), H5T_STD_I32LE) > 0);
    CHECK(H5Tequal(member("tie").id(), H5T_STD_U64LE) > 0);
    CHECK(H5Tequal(member("school_a").id(), H5T_STD_I32LE) > 0);
    CHECK(H5Tequal(member("school_b").id(), H5T_STD_I32LE) > 0);
    CHECK(enum_names(member("kind").id()) == to_strings(kTieKindNames));
    CHECK(enum_names(member("event").id()) == std::vector<std::string>{"formed", "dissolved"});
    CHECK(enum_names(member("reason").id()) == to_strings(kTieReasonNames));

    CHECK(rows[0].term == 0);
    CHECK(rows[0].tie == 7);
    CHECK(rows[0].school_a == 0);
    CHECK(rows[0].school_b == 1);
    CHECK(enum_name(t.id(), "kind", rows[0].kind) == "programme");
    CHECK(enum_name(t.id(), "event", rows[0].event) == "formed");
    CHECK(enum_name(t.id(), "reason", rows[0].reason) == "programme");
    CHECK(rows[1].term == 2);
    CHECK(rows[1].tie == 7);
    CHECK(enum_name(t.id(), "event", rows[1].event) == "dissolved");
    CHECK(enum_name(t.id(), "reason", rows[1].reason) == "funding_ended");
    CHECK(h5::read_string_attribute(ds.id(), "unit") == "events");
  }
}

TEST_CASE("output file: empty parts of a recording") {
  TempDir dir;
  const fs::path dest = dir.path / "empty.h5";
  Recording r = make_recording(0);
  r.series_terms.clear();  // series requested but no rows recorded
  for (auto& b : r.series) {
    b.real.clear();
    b.integer.clear();
  }
  r.attainment_years.clear();
  r.attainment_dis.clear();
  r.attainment_adv.clear();
  r.system_terms.clear();
  r.system.clear();
  r.tie_events.clear();
  write_file(dest, {r});

  const h5::File f = open_file(dest);
  std::vector<hsize_t> d;
  CHECK(read_all<float>(f.id(), "/replicates/0/series/capacity", &d).empty());
  CHECK(d == std::vector<hsize_t>{0, kN});
  CHECK(read_all<float>(f.id(), "/replicates/0/series/practice", &d).empty());
  CHECK(d == std::vector<hsize_t>{0, kN, kWidth});
  CHECK_FALSE(exists(f.id(), "/replicates/0/attainment"));
  CHECK_FALSE(exists(f.id(), "/replicates/0/system"));
  REQUIRE(exists(f.id(), "/replicates/0/ties"));
  CHECK(read_ties(f.id(), "/replicates/0/ties").empty());
  CHECK(read_all<std::int32_t>(f.id(), "/replicates/0/schools/places").size() == kN);

  // No series at all: no series group.
  const fs::path dest2 = dir.path / "no_series.h5";
  r.series.clear();
  write_file(dest2, {r});
  const h5::File f2 = open_file(dest2);
  CHECK_FALSE(exists(f2.id(), "/replicates/0/series"));
  CHECK(exists(f2.id(), "/replicates/0/ties"));
}

TEST_CASE("output file: without commit() nothing is left behind") {
  TempDir dir;
  const fs::path dest = dir.path / "run.h5";
  fs::path tmp;
  {
    OutputFile out(dest, make_meta());
    tmp = out.temporary_path();
    out.write(make_recording(0));
    CHECK(fs::exists(tmp));
  }
  CHECK_FALSE(fs::exists(dest));
  CHECK_FALSE(fs::exists(tmp));
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("output file: a good file at the destination survives an uncommitted run") {
  TempDir dir;
  const fs::path dest = dir.path / "run.h5";
  write_file(dest, {make_recording(0)});
  const std::string before = file_bytes(dest);
  REQUIRE_FALSE(before.empty());
  {
    OutputFile out(dest, make_meta());
    out.write(make_recording(0, 0.25f));
  }
  CHECK(file_bytes(dest) == before);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("output file: --compression chunks and shuffles and deflates the per-school tables and the data are the same") {
  TempDir dir;
  const std::vector<Recording> recs = {make_recording(0), make_recording(1, 0.5f)};
  RunMeta meta = make_meta();
  meta.compression = 6;
  {
    OutputFile out(dir.path / "z.h5", meta);
    for (const auto& r : recs) out.write(r);
    out.commit();
  }
  write_file(dir.path / "plain.h5", recs);
  const h5::File z = open_file(dir.path / "z.h5");
  const h5::File plain = open_file(dir.path / "plain.h5");
  for (const char* path : {"/replicates/0/series/capacity", "/replicates/1/series/pupils",
                           "/replicates/0/attainment/attainment_dis", "/replicates/0/schools/x"}) {
    CAPTURE(path);
    const h5::Dataset ds = open_dataset(z.id(), path);
    const h5::Plist dcpl(H5Dget_create_plist(ds.id()), "dcpl");
    CHECK(H5Pget_layout(dcpl.id()) == H5D_CHUNKED);
    REQUIRE(H5Pget_nfilters(dcpl.id()) == 2);
    unsigned flags = 0, level = 0;
    std::size_t n_values = 1;
    CHECK(H5Pget_filter2(dcpl.id(), 0, &flags, nullptr, nullptr, 0, nullptr, nullptr) == H5Z_FILTER_SHUFFLE);
    CHECK(H5Pget_filter2(dcpl.id(), 1, &flags, &n_values, &level, 0, nullptr, nullptr) == H5Z_FILTER_DEFLATE);
    CHECK(level == 6);
  }
  CHECK(read_all<float>(z.id(), "/replicates/1/series/capacity") ==
        read_all<float>(plain.id(), "/replicates/1/series/capacity"));
  CHECK(read_all<std::int32_t>(z.id(), "/replicates/1/series/pupils") ==
        read_all<std::int32_t>(plain.id(), "/replicates/1/series/pupils"));
  // Not a deflate level: refused before anything is written.
  meta.compression = 10;
  CHECK_THROWS_WITH_AS(OutputFile(dir.path / "bad.h5", meta), doctest::Contains("compression level 10"),
                       std::invalid_argument);
  CHECK_FALSE(fs::exists(dir.path / "bad.h5"));
}

TEST_CASE("output file: the same recordings give byte-identical files") {
  TempDir dir;
  const std::vector<Recording> recs = {make_recording(0), make_recording(1, 0.5f)};
  write_file(dir.path / "a.h5", recs);
  // Past a one-second boundary, so that any stored time stamp would differ.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  write_file(dir.path / "b.h5", recs);
  const std::string a = file_bytes(dir.path / "a.h5");
  const std::string b = file_bytes(dir.path / "b.h5");
  REQUIRE_FALSE(a.empty());
  CHECK(a == b);
}

namespace {

// `r` without its series and attainment values; with `terms`, without the
// rows' terms and years too (what a sink's begin() is given).
Recording without_rows(Recording r, bool terms) {
  for (auto& buf : r.series) {
    buf.real.clear();
    buf.integer.clear();
  }
  r.attainment_dis.clear();
  r.attainment_adv.clear();
  if (terms) {
    r.series_terms.clear();
    r.attainment_years.clear();
  }
  return r;
}

// Sends a hand-built recording's rows to `sink` one by one, as a Recorder does
// (rows in order), and returns the recording without its rows (`streamed`).
Recording stream_rows(RowSink& sink, Recording r, std::size_t series_rows, std::size_t years) {
  Recording header = without_rows(r, true);
  sink.begin(header, r.series_terms, r.attainment_years);
  const auto n = static_cast<std::size_t>(r.n_schools);
  for (std::size_t row = 0; row < series_rows; ++row)
    for (std::size_t k = 0; k < r.series.size(); ++k) {
      const SeriesBuffer& buf = r.series[k];
      const std::size_t at = row * n * static_cast<std::size_t>(buf.width);
      if (buf.integer.empty()) {
        sink.series_row(k, row, buf.real.data() + at);
      } else {
        sink.series_row(k, row, buf.integer.data() + at);
      }
    }
  for (std::size_t y = 0; y < years; ++y)
    sink.attainment_row(y, r.attainment_dis.data() + y * n, r.attainment_adv.data() + y * n);
  // The events one at a time, as terms deliver them.
  for (const TieEvent& e : r.tie_events) sink.tie_events({e});
  header.tie_events.clear();
  header.series_terms = r.series_terms;
  header.attainment_years = r.attainment_years;
  header.streamed = true;
  return header;
}

}  // namespace

TEST_CASE(
    "output file: rows streamed as they are recorded give the same bytes as the recording written "
    "whole") {
  TempDir dir;
  const std::vector<Recording> recs = {make_recording(0), make_recording(1, 0.5f)};
  write_file(dir.path / "whole.h5", recs);
  {
    OutputFile out(dir.path / "streamed.h5", make_meta());
    REQUIRE(out.streams_rows());
    for (const auto& r : recs) {
      const Recording rest = stream_rows(out.row_sink(), r, 2, 2);
      CHECK(rest.series[0].real.empty());  // the rows were not held
      out.write(rest);
    }
    out.commit();
  }
  const std::string whole = file_bytes(dir.path / "whole.h5");
  REQUIRE(whole.size() > 1000);
  CHECK(file_bytes(dir.path / "streamed.h5") == whole);
  // Mixed: the first replicate streamed, the second written whole.
  {
    OutputFile out(dir.path / "mixed.h5", make_meta());
    out.write(stream_rows(out.row_sink(), recs[0], 2, 2));
    out.write(recs[1]);
    out.commit();
  }
  CHECK(file_bytes(dir.path / "mixed.h5") == whole);
}

TEST_CASE(
    "output file: a streamed replicate with rows missing or out of order is refused and nothing is "
    "left") {
  TempDir dir;
  const fs::path dest = dir.path / "run.h5";
  {
    OutputFile out(dest, make_meta());
    const Recording short_one =
        stream_rows(out.row_sink(), make_recording(0), 1, 2);  // series row 1 missing
    CHECK_THROWS_WITH_AS(out.write(short_one),
                         doctest::Contains("series 'capacity' is missing rows"),
                         std::runtime_error);
  }
  {
    OutputFile out(dest, make_meta());
    const Recording r = make_recording(0);
    const Recording header = without_rows(r, true);
    out.row_sink().begin(header, r.series_terms, r.attainment_years);
    // Row 1 before row 0, and a second replicate opened before the first is done.
    CHECK_THROWS_WITH_AS(out.row_sink().series_row(0, 1, r.series[0].real.data()),
                         doctest::Contains("series rows out of order"), std::runtime_error);
    CHECK_THROWS_WITH_AS(out.row_sink().begin(header, r.series_terms, r.attainment_years),
                         doctest::Contains("replicate 0 is still open"), std::runtime_error);
    CHECK_THROWS_WITH_AS(out.write(make_recording(1)),
                         doctest::Contains("replicate 0 is still open"), std::runtime_error);
    CHECK_THROWS_WITH_AS(out.commit(), doctest::Contains("replicate 0 was not finished"),
                         std::runtime_error);
    // A recording that says its rows were streamed, to a file that was not sent them.
    OutputFile other(dir.path / "other.h5", make_meta());
    Recording claims = without_rows(make_recording(0), false);
    claims.streamed = true;
    CHECK_THROWS_WITH_AS(other.write(claims), doctest::Contains("not to this file"),
                         std::runtime_error);
  }
  CHECK_FALSE(fs::exists(dest));
  CHECK(fs::is_empty(dir.path));
  // Compressed tables are written whole: a compressed file takes no rows.
  RunMeta meta = make_meta();
  meta.compression = 1;
  OutputFile z(dir.path / "z.h5", meta);
  CHECK_FALSE(z.streams_rows());
  CHECK_THROWS_WITH_AS(stream_rows(z.row_sink(), make_recording(0), 2, 2),
                       doctest::Contains("written whole"), std::runtime_error);
}

TEST_CASE("output file: errors are exceptions naming the file") {
  TempDir dir;
  const fs::path dest = dir.path / "run.h5";

  SUBCASE("an inconsistent recording") {
    OutputFile out(dest, make_meta());
    Recording r = make_recording(0);
    r.series[0].real.pop_back();
    try {
      out.write(r);
      FAIL("write() accepted a short series");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(dest.string()) != std::string::npos);
      CHECK(std::string(e.what()).find("capacity") != std::string::npos);
    }
  }

  SUBCASE("the same replicate twice") {
    OutputFile out(dest, make_meta());
    out.write(make_recording(0));
    CHECK_THROWS_AS(out.write(make_recording(0)), std::runtime_error);
  }

  SUBCASE("a destination that cannot be created") {
    std::ofstream(dir.path / "plain_file") << "x";
    CHECK_THROWS_AS(OutputFile(dir.path / "plain_file" / "run.h5", make_meta()), std::runtime_error);
  }

  SUBCASE("commit twice") {
    OutputFile out(dest, make_meta());
    out.write(make_recording(0));
    out.commit();
    CHECK_THROWS_AS(out.commit(), std::runtime_error);
    CHECK(fs::exists(dest));
  }
  CHECK_FALSE(fs::exists(dest.string() + ".tmp-" + std::to_string(::getpid())));
}

TEST_CASE("measures: the table marks counts and only counts") {
  auto count = [](std::string_view name) {
    for (const auto& m : kSystemMeasures)
      if (m.name == name) return m.count;
    FAIL("no measure " << name);
    return false;
  };
  for (const char* name : {"n_challenging", "n_schools_in_crisis", "pupils", "n_ties", "components", "isolates",
                           "ties_voluntary", "ties_programme", "ties_federation", "ties_movement", "ties_after_funding"})
    CHECK_MESSAGE(count(name), name);
  for (const char* name : {"mean_capacity", "mean_attainment", "between_school_share", "mean_degree", "density",
                           "nearest_school_share", "centralisation", "mean_trust"})
    CHECK_MESSAGE(!count(name), name);
}

TEST_CASE("output file: a comparison's groups read back as sim/io/compare wrote them") {
  TempDir dir;
  const fs::path dest = dir.path / "compare.h5";
  Comparison c;
  c.replicates = 2;
  c.terms = {0, 3, 6};
  const std::size_t rows = c.terms.size();
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    std::vector<double> a, b;
    for (std::size_t i = 0; i < 2 * rows; ++i) {
      a.push_back(static_cast<double>(m) + 0.25 * static_cast<double>(i));
      b.push_back(static_cast<double>(m) + 0.5 * static_cast<double>(i));
    }
    c.a.push_back(a);
    c.b.push_back(b);
    c.diff_mean.push_back({0, 1.5 * static_cast<double>(m), 2});
    c.diff_lo.push_back({0, 1, 1.5});
    c.diff_hi.push_back({0, 2, 2.5});
    c.effect_size.push_back(0.1 * static_cast<double>(m));
    c.effect_scale.push_back(2);
    c.effect_basis.push_back(effect_basis_of(m));
  }
  const Arms arms{"alpha", "name: alpha\n", "beta", "name: beta\n"};
  {
    OutputFile out(dest, paired_meta("compare", arms, 7, 2, 2, "0.1.0-test"));
    write_comparison(out, arms, c, "replicate noise only");
    out.commit();
  }
  const h5::File f = open_file(dest);
  const h5::Group meta = h5::open_group(f.id(), "meta");
  CHECK(h5::read_string_attribute(meta.id(), "kind") == "compare");
  CHECK(h5::read_string_attribute(meta.id(), "scenario_name") == "alpha vs beta");
  CHECK(h5::read_string_attribute(meta.id(), "scenario_a_name") == "alpha");
  CHECK(h5::read_string_attribute(meta.id(), "scenario_b_name") == "beta");
  CHECK(h5::read_string_attribute(meta.id(), "uncertainty") == "replicate noise only");
  CHECK(read_all<std::int32_t>(f.id(), "/compare/term") == c.terms);
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    const std::string g = "/compare/" + std::string(mi.name);
    std::vector<hsize_t> d;
    CHECK(read_all<double>(f.id(), g + "/a", &d) == c.a[m]);
    CHECK(d == std::vector<hsize_t>{2, rows});
    CHECK(read_all<double>(f.id(), g + "/b") == c.b[m]);
    CHECK(read_all<double>(f.id(), g + "/diff_mean") == c.diff_mean[m]);
    CHECK(read_all<double>(f.id(), g + "/diff_lo") == c.diff_lo[m]);
    CHECK(read_all<double>(f.id(), g + "/diff_hi") == c.diff_hi[m]);
    const h5::Group grp = h5::open_group(f.id(), g.substr(1));
    CHECK(h5::read_string_attribute(grp.id(), "unit") == std::string(mi.unit));
    CHECK(h5::read_scalar_attribute<std::int32_t>(grp.id(), "count") == (mi.count ? 1 : 0));
    CHECK(h5::read_scalar_attribute<double>(grp.id(), "effect_size") == c.effect_size[m]);
    CHECK(h5::read_string_attribute(grp.id(), "effect_standardiser") == std::string(effect_basis_text(c.effect_basis[m])));
  }
}

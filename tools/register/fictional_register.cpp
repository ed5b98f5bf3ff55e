#include "tools/register/fictional_register.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace schoolsim::tools {

namespace {

// The columns of the GIAS "all establishment data" download, in order.
const std::vector<std::string> kHeader = {
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentNumber",
    "EstablishmentName",
    "TypeOfEstablishment (code)",
    "TypeOfEstablishment (name)",
    "EstablishmentTypeGroup (code)",
    "EstablishmentTypeGroup (name)",
    "EstablishmentStatus (code)",
    "EstablishmentStatus (name)",
    "ReasonEstablishmentOpened (code)",
    "ReasonEstablishmentOpened (name)",
    "OpenDate",
    "ReasonEstablishmentClosed (code)",
    "ReasonEstablishmentClosed (name)",
    "CloseDate",
    "PhaseOfEducation (code)",
    "PhaseOfEducation (name)",
    "StatutoryLowAge",
    "StatutoryHighAge",
    "Boarders (code)",
    "Boarders (name)",
    "NurseryProvision (name)",
    "OfficialSixthForm (code)",
    "OfficialSixthForm (name)",
    "Gender (code)",
    "Gender (name)",
    "ReligiousCharacter (code)",
    "ReligiousCharacter (name)",
    "ReligiousEthos (name)",
    "Diocese (code)",
    "Diocese (name)",
    "AdmissionsPolicy (code)",
    "AdmissionsPolicy (name)",
    "SchoolCapacity",
    "SpecialClasses (code)",
    "SpecialClasses (name)",
    "CensusDate",
    "NumberOfPupils",
    "NumberOfBoys",
    "NumberOfGirls",
    "PercentageFSM",
    "TrustSchoolFlag (code)",
    "TrustSchoolFlag (name)",
    "Trusts (code)",
    "Trusts (name)",
    "SchoolSponsorFlag (name)",
    "SchoolSponsors (name)",
    "FederationFlag (name)",
    "Federations (code)",
    "Federations (name)",
    "UKPRN",
    "FEHEIdentifier",
    "FurtherEducationType (name)",
    "LastChangedDate",
    "Street",
    "Locality",
    "Address3",
    "Town",
    "County (name)",
    "Postcode",
    "SchoolWebsite",
    "TelephoneNum",
    "HeadTitle (name)",
    "HeadFirstName",
    "HeadLastName",
    "HeadPreferredJobTitle",
    "BSOInspectorateName (name)",
    "InspectorateReport",
    "DateOfLastInspectionVisit",
    "NextInspectionVisit",
    "TeenMoth (name)",
    "TeenMothPlaces",
    "CCF (name)",
    "SENPRU (name)",
    "EBD (name)",
    "PlacesPRU",
    "FTProv (name)",
    "EdByOther (name)",
    "Section41Approved (name)",
    "SEN1 (name)",
    "SEN2 (name)",
    "SEN3 (name)",
    "SEN4 (name)",
    "SEN5 (name)",
    "SEN6 (name)",
    "SEN7 (name)",
    "SEN8 (name)",
    "SEN9 (name)",
    "SEN10 (name)",
    "SEN11 (name)",
    "SEN12 (name)",
    "SEN13 (name)",
    "TypeOfResourcedProvision (name)",
    "ResourcedProvisionOnRoll",
    "ResourcedProvisionCapacity",
    "SenUnitOnRoll",
    "SenUnitCapacity",
    "GOR (code)",
    "GOR (name)",
    "DistrictAdministrative (code)",
    "DistrictAdministrative (name)",
    "AdministrativeWard (code)",
    "AdministrativeWard (name)",
    "ParliamentaryConstituency (code)",
    "ParliamentaryConstituency (name)",
    "UrbanRural (code)",
    "UrbanRural (name)",
    "GSSLACode (name)",
    "Easting",
    "Northing",
    "MSOA (name)",
    "LSOA (name)",
    "InspectorateName (name)",
    "SENStat",
    "SENNoStat",
    "BoardingEstablishment (name)",
    "PropsName",
    "PreviousLA (code)",
    "PreviousLA (name)",
    "PreviousEstablishmentNumber",
    "Country (name)",
    "UPRN",
    "SiteName",
    "QABName (code)",
    "QABName (name)",
    "EstablishmentAccredited (code)",
    "EstablishmentAccredited (name)",
    "QABReport",
    "CHNumber",
    "MSOA (code)",
    "LSOA (code)",
    "FSM",
    "AccreditationExpiryDate"
};

// A small, portable generator (SplitMix64), so that the file is the same
// bytes on every platform for a seed.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  int below(int n) { return static_cast<int>(uniform() * n); }
  double normal() {  // Box-Muller
    const double u = 1.0 - uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }

 private:
  std::uint64_t s_;
};

// Invented place names from syllables (no real place is intended).
std::string place(Rng& r) {
  static const std::array<const char*, 24> a = {"Ash", "Bram", "Cor", "Dun", "Elm", "Fen", "Gar", "Hol",
                                                "Ivy", "Kel", "Lud", "Mar", "Nor", "Oak", "Pen", "Quen",
                                                "Ros", "Sel", "Tor", "Ulv", "Wen", "Yar", "Zel", "Bel"};
  static const std::array<const char*, 16> b = {"ford", "ley", "wick", "ton", "bury", "mere", "dale", "holt",
                                                "stead", "combe", "by", "thorpe", "well", "field", "den", "gate"};
  return std::string(a[static_cast<std::size_t>(r.below(24))]) + b[static_cast<std::size_t>(r.below(16))];
}

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string quote(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

const std::vector<std::string>& gias_header_columns() { return kHeader; }

std::string gias_header_line() {
  std::string line;
  for (std::size_t i = 0; i < kHeader.size(); ++i) {
    if (i) line += ',';
    line += quote(kHeader[i]);
  }
  return line + "\r\n";
}

std::string gias_row(const std::map<std::string, std::string>& values) {
  std::string line;
  for (std::size_t i = 0; i < kHeader.size(); ++i) {
    if (i) line += ',';
    const auto it = values.find(kHeader[i]);
    if (it != values.end()) line += quote(it->second);
  }
  return line + "\r\n";
}

std::string fictional_register(const FictionalOptions& o) {
  Rng rng(o.seed);
  std::string out = gias_header_line();
  out.reserve(static_cast<std::size_t>(o.schools * (1 + o.other_rows)) * 420);
  const int areas = std::max(1, o.areas);

  // Authorities: a centre in England's part of the grid, a name, a code
  // (101-199 then 401-599: codes the real register does not use), and an
  // area effect on disadvantage (logit scale, as the generated world).
  struct La {
    std::string code, name;
    double e, n, logit;
  };
  std::vector<La> las;
  for (int a = 0; a < areas; ++a) {
    La la;
    const int code = a < 99 ? 101 + a : 401 + (a - 99);
    la.code = std::to_string(code);
    la.name = place(rng) + " (fictional)";
    la.e = 150000 + rng.uniform() * 480000;
    la.n = 60000 + rng.uniform() * 560000;
    la.logit = std::log(0.24 / 0.76) + 0.6 * rng.normal();
    las.push_back(la);
  }

  // Trusts: about 40% of schools are academies; most academies are in
  // multi-academy trusts of a few schools, a few trusts are large. A trust
  // works in one authority and its neighbours: its schools are drawn near
  // its home authority.
  int next_trust_code = 20001, next_federation_code = 3001;
  struct Trust {
    std::string code, name;
    int home = 0, left = 0;
  };
  std::vector<Trust> open_trusts;

  int urn = 900001;
  int estab = 2000;
  const auto row = [&](const std::map<std::string, std::string>& v) { out += gias_row(v); };
  // Per-school federation pairing: a primary is federated with a probability,
  // with the next primary or two of its authority (88% pairs).
  for (int i = 0; i < o.schools; ++i) {
    const int a = static_cast<int>(static_cast<long long>(i) * areas / o.schools);
    const La& la = las[static_cast<std::size_t>(a)];
    std::map<std::string, std::string> v;
    v["URN"] = std::to_string(urn++);
    v["LA (code)"] = la.code;
    v["LA (name)"] = la.name;
    v["EstablishmentNumber"] = std::to_string(estab++);
    const double ph = rng.uniform();
    // Phases: about 83% primary (a few middle deemed primary), 15% secondary,
    // 1% middle deemed secondary, 1% all-through.
    const char* phase = ph < 0.82 ? "Primary" : ph < 0.83 ? "Middle deemed primary" : ph < 0.98 ? "Secondary"
                        : ph < 0.99                       ? "Middle deemed secondary"
                                                          : "All-through";
    const bool secondary = ph >= 0.83;
    const std::string town = place(rng);
    // A few names carry Windows-1252 characters (’ is byte 0x92, é is 0xE9).
    const double nm = rng.uniform();
    const std::string saint = nm < 0.08 ? "St Mary\x92s " : nm < 0.1 ? "Ren\xE9" "e Hall " : "";
    v["EstablishmentName"] = saint + town + (secondary ? " Academy" : " Primary School") + " (fictional)";
    const bool academy = rng.uniform() < (secondary ? 0.8 : 0.35);
    const double t = rng.uniform();
    std::string type = academy ? (t < 0.7 ? "Academy converter" : t < 0.95 ? "Academy sponsor led" : "Free schools")
                               : (t < 0.55 ? "Community school" : t < 0.8 ? "Voluntary aided school"
                                                               : t < 0.93 ? "Voluntary controlled school"
                                                                          : "Foundation school");
    v["TypeOfEstablishment (name)"] = type;
    v["EstablishmentTypeGroup (name)"] = academy ? (type == "Free schools" ? "Free Schools" : "Academies")
                                                 : "Local authority maintained schools";
    v["EstablishmentStatus (code)"] = "1";
    v["EstablishmentStatus (name)"] = rng.uniform() < 0.005 ? "Open, but proposed to close" : "Open";
    v["PhaseOfEducation (name)"] = phase;
    v["StatutoryLowAge"] = secondary ? "11" : "4";
    v["StatutoryHighAge"] = secondary ? (rng.uniform() < 0.6 ? "18" : "16") : "11";
    v["Gender (name)"] = "Mixed";
    // Places: lognormal around one or two forms of entry, or about 1,000.
    const double places = secondary ? 1000 * std::exp(0.3 * rng.normal()) : 300 * std::exp(0.35 * rng.normal());
    const int cap = std::max(20, static_cast<int>(std::lround(places / 5) * 5));
    const double occupancy = std::clamp(0.9 + 0.08 * rng.normal(), 0.5, 1.15);
    const int pupils = std::max(5, static_cast<int>(std::lround(cap * occupancy)));
    v["SchoolCapacity"] = std::to_string(cap);
    v["CensusDate"] = "16-01-2025";
    v["NumberOfPupils"] = std::to_string(pupils);
    const int boys = static_cast<int>(std::lround(pupils * (0.5 + 0.02 * rng.normal())));
    v["NumberOfBoys"] = std::to_string(std::clamp(boys, 0, pupils));
    v["NumberOfGirls"] = std::to_string(pupils - std::clamp(boys, 0, pupils));
    // Disadvantage: area and school effects on the logit scale (MODEL.md §8:
    // about 24% of pupils eligible for free school meals).
    const double fsm = 100 * logistic(la.logit + 0.8 * rng.normal());
    v["PercentageFSM"] = fixed1(fsm);
    v["FSM"] = std::to_string(static_cast<int>(std::lround(fsm / 100 * pupils)));
    // Location: scattered around the authority's centre (about 12 km).
    const double e = std::clamp(la.e + 12000 * rng.normal(), 1000.0, 699000.0);
    const double n = std::clamp(la.n + 12000 * rng.normal(), 1000.0, 1299000.0);
    v["Easting"] = std::to_string(static_cast<long long>(std::lround(e)));
    v["Northing"] = std::to_string(static_cast<long long>(std::lround(n)));
    v["Town"] = town;
    v["Postcode"] = "ZZ" + std::to_string(1 + rng.below(99)) + " " + std::to_string(rng.below(10)) + "ZZ";
    v["SchoolWebsite"] = "https://fictional.invalid/" + v["URN"];
    v["Country (name)"] = "Fictional";
    v["OpenDate"] = academy ? "01-09-2015" : "";
    v["TrustSchoolFlag (name)"] = academy ? "Supported by a multi-academy trust" : "Not applicable";
    if (academy) {
      // Join a trust with room near here, or start one (single-academy trusts
      // are about a third of academies; multi-academy trusts grow to 2-40).
      Trust* tr = nullptr;
      for (auto& cand : open_trusts) {
        if (cand.left > 0 && std::abs(cand.home - a) <= 1) {
          tr = &cand;
          break;
        }
      }
      if (!tr) {
        Trust fresh;
        fresh.code = std::to_string(next_trust_code++);
        fresh.name = place(rng) + " Learning Trust (fictional)";
        fresh.home = a;
        const double sz = rng.uniform();
        fresh.left = sz < 0.33 ? 1 : sz < 0.9 ? 2 + rng.below(8) : 10 + rng.below(30);
        open_trusts.push_back(fresh);
        if (open_trusts.size() > 64) open_trusts.erase(open_trusts.begin());
        tr = &open_trusts.back();
      }
      v["Trusts (code)"] = tr->code;
      v["Trusts (name)"] = tr->name;
      --tr->left;
    }
    out += gias_row(v);
    // A federation: this school and the next one or two of its authority
    // share a federation code (88% pairs), among maintained primaries.
    if (!academy && !secondary && rng.uniform() < 0.04 && i + 1 < o.schools) {
      const int size = rng.uniform() < 0.88 ? 2 : 3;
      const std::string code = std::to_string(next_federation_code++);
      // Rewrite the row just written with the federation, then mark the next ones.
      out.resize(out.size() - gias_row(v).size());
      v["FederationFlag (name)"] = "Supported by a federation";
      v["Federations (code)"] = code;
      v["Federations (name)"] = "The " + town + " Federation (fictional)";
      out += gias_row(v);
      for (int k = 1; k < size && i + 1 < o.schools; ++k) {
        ++i;
        const int a2 = static_cast<int>(static_cast<long long>(i) * areas / o.schools);
        std::map<std::string, std::string> w = v;
        w["URN"] = std::to_string(urn++);
        w["EstablishmentNumber"] = std::to_string(estab++);
        const std::string town2 = place(rng);
        w["EstablishmentName"] = town2 + " Primary School (fictional)";
        w["Town"] = town2;
        w["LA (code)"] = las[static_cast<std::size_t>(a2)].code;
        w["LA (name)"] = las[static_cast<std::size_t>(a2)].name;
        const int cap2 = std::max(20, static_cast<int>(std::lround(300 * std::exp(0.35 * rng.normal()) / 5) * 5));
        w["SchoolCapacity"] = std::to_string(cap2);
        const int pupils2 = std::max(5, static_cast<int>(std::lround(cap2 * std::clamp(0.9 + 0.08 * rng.normal(), 0.5, 1.15))));
        w["NumberOfPupils"] = std::to_string(pupils2);
        w.erase("NumberOfBoys"), w.erase("NumberOfGirls");
        const double fsm2 = 100 * logistic(las[static_cast<std::size_t>(a2)].logit + 0.8 * rng.normal());
        w["PercentageFSM"] = fixed1(fsm2);
        w["FSM"] = std::to_string(static_cast<int>(std::lround(fsm2 / 100 * pupils2)));
        // Federated schools are near each other: within a few km.
        w["Easting"] = std::to_string(static_cast<long long>(std::lround(std::clamp(e + 2500 * rng.normal(), 1000.0, 699000.0))));
        w["Northing"] = std::to_string(static_cast<long long>(std::lround(std::clamp(n + 2500 * rng.normal(), 1000.0, 1299000.0))));
        w["SchoolWebsite"] = "https://fictional.invalid/" + w["URN"];
        out += gias_row(w);
      }
    }
  }

  // Rows the world leaves out, in the proportions of the real register.
  const int others = static_cast<int>(std::lround(o.schools * o.other_rows));
  for (int j = 0; j < others; ++j) {
    const int a = rng.below(areas);
    const La& la = las[static_cast<std::size_t>(a)];
    std::map<std::string, std::string> v;
    v["URN"] = std::to_string(urn++);
    v["LA (code)"] = la.code;
    v["LA (name)"] = la.name;
    v["EstablishmentNumber"] = std::to_string(estab++);
    const std::string town = place(rng);
    v["Town"] = town;
    v["Country (name)"] = "Fictional";
    v["Easting"] = std::to_string(static_cast<long long>(std::lround(std::clamp(la.e + 12000 * rng.normal(), 1000.0, 699000.0))));
    v["Northing"] = std::to_string(static_cast<long long>(std::lround(std::clamp(la.n + 12000 * rng.normal(), 1000.0, 1299000.0))));
    const double k = rng.uniform();
    if (k < 0.70) {  // closed schools: most of the register's rows
      v["EstablishmentName"] = town + (k < 0.5 ? " Primary School" : " High School") + " (fictional, closed)";
      v["TypeOfEstablishment (name)"] = k < 0.35 ? "Community school" : "Academy converter";
      v["EstablishmentStatus (name)"] = "Closed";
      v["CloseDate"] = "31-08-2012";
      v["PhaseOfEducation (name)"] = k < 0.5 ? "Primary" : "Secondary";
    } else if (k < 0.76) {
      v["EstablishmentName"] = town + " Special School (fictional)";
      v["TypeOfEstablishment (name)"] = k < 0.73 ? "Community special school" : "Academy special converter";
      v["EstablishmentTypeGroup (name)"] = "Special schools";
      v["EstablishmentStatus (name)"] = "Open";
      v["PhaseOfEducation (name)"] = k < 0.745 ? "Not applicable" : "Secondary";
      v["NumberOfPupils"] = std::to_string(60 + rng.below(150));
      v["SchoolCapacity"] = std::to_string(100 + rng.below(150));
      v["PercentageFSM"] = fixed1(std::min(99.0, 40 + 10 * rng.normal()));
    } else if (k < 0.78) {
      v["EstablishmentName"] = town + " Pupil Referral Unit (fictional)";
      v["TypeOfEstablishment (name)"] = k < 0.77 ? "Pupil referral unit" : "Academy alternative provision sponsor led";
      v["EstablishmentStatus (name)"] = "Open";
      v["PhaseOfEducation (name)"] = k < 0.772 ? "Not applicable" : "Secondary";
      v["NumberOfPupils"] = std::to_string(10 + rng.below(60));
    } else if (k < 0.80) {
      v["EstablishmentName"] = town + " Nursery School (fictional)";
      v["TypeOfEstablishment (name)"] = "Local authority nursery school";
      v["EstablishmentStatus (name)"] = "Open";
      v["PhaseOfEducation (name)"] = "Nursery";
    } else if (k < 0.83) {
      v["EstablishmentName"] = town + " Sixth Form College (fictional)";
      v["TypeOfEstablishment (name)"] = "Sixth form centres";
      v["EstablishmentStatus (name)"] = "Open";
      v["PhaseOfEducation (name)"] = "16 plus";
    } else if (k < 0.97) {
      v["EstablishmentName"] = town + " House School (fictional)";
      v["TypeOfEstablishment (name)"] = "Other independent school";
      v["EstablishmentTypeGroup (name)"] = "Independent schools";
      v["EstablishmentStatus (name)"] = "Open";
      v["PhaseOfEducation (name)"] = "Not applicable";
    } else {
      v["EstablishmentName"] = town + " Primary School (fictional, proposed)";
      v["TypeOfEstablishment (name)"] = "Free schools";
      v["EstablishmentStatus (name)"] = "Proposed to open";
      v["PhaseOfEducation (name)"] = "Primary";
    }
    row(v);
  }
  return out;
}

}  // namespace schoolsim::tools

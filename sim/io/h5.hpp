// A thin RAII layer over the HDF5 1.10 C API, private to sim/io (and its tests).
//
// Each handle owns one HDF5 identifier and closes it with the matching H5?close
// when destroyed. check() turns a negative HDF5 return value into a
// std::runtime_error naming what failed and what the HDF5 error stack says.
// HDF5 here is the serial, non-thread-safe build: use it from one thread.
#pragma once

#include <hdf5.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schoolsim::h5 {

// Values of HDF5 macros that are spelled with C-style casts in the headers.
inline constexpr hid_t kAll = 0;                                          // H5S_ALL
inline constexpr std::size_t kVariable = std::numeric_limits<std::size_t>::max();  // H5T_VARIABLE

// Stops HDF5 printing its error stack to stderr; errors become exceptions instead.
inline void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// The current HDF5 error stack as one line (the API call, then the innermost
// cause), then cleared.
inline std::string error_stack() {
  std::vector<std::string> parts;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* err, void* data) -> herr_t {
        auto& out = *static_cast<std::vector<std::string>*>(data);
        std::string s = err->func_name ? err->func_name : "?";
        if (err->desc && *err->desc) s += std::string(": ") + err->desc;
        out.push_back(std::move(s));
        return 0;
      },
      &parts);
  H5Eclear2(H5E_DEFAULT);
  // The API call and the innermost cause say most; the middle is library internals.
  if (parts.empty()) return {};
  if (parts.size() == 1) return parts.front();
  return parts.front() + (parts.size() > 2 ? " <- ... <- " : " <- ") + parts.back();
}

// Throws if an HDF5 call failed (returned a negative value); otherwise passes it on.
template <std::signed_integral T>
T check(T result, std::string_view what) {
  if (result < 0) {
    std::string msg = "HDF5: " + std::string(what) + " failed";
    const std::string stack = error_stack();
    if (!stack.empty()) msg += " (" + stack + ")";
    throw std::runtime_error(msg);
  }
  return result;
}

// Owns one identifier; Close is the H5?close function for its kind of object.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  // Takes ownership of `id` after check()ing it.
  Handle(hid_t id, std::string_view what) : id_(check(id, what)) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
    }
    return *this;
  }

  [[nodiscard]] hid_t id() const { return id_; }
  [[nodiscard]] bool valid() const { return id_ >= 0; }

  // Closes quietly (for destructors and error paths).
  void reset() noexcept {
    if (id_ >= 0) {
      Close(id_);
      H5Eclear2(H5E_DEFAULT);
    }
    id_ = -1;
  }
  // Closes and throws if closing fails (for the normal path, e.g. a file).
  void close(std::string_view what) {
    if (id_ >= 0) check(Close(std::exchange(id_, -1)), what);
  }

 private:
  hid_t id_ = -1;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using Plist = Handle<H5Pclose>;
using Attribute = Handle<H5Aclose>;

// ------------------------------------------------------------------ types

// HDF5 native (memory) and little-endian (file) types for a C++ scalar type.
template <class T>
struct TypeOf;
template <>
struct TypeOf<std::int32_t> {
  static hid_t mem() { return H5T_NATIVE_INT32; }
  static hid_t file() { return H5T_STD_I32LE; }
};
template <>
struct TypeOf<std::uint64_t> {
  static hid_t mem() { return H5T_NATIVE_UINT64; }
  static hid_t file() { return H5T_STD_U64LE; }
};
template <>
struct TypeOf<std::uint8_t> {
  static hid_t mem() { return H5T_NATIVE_UINT8; }
  static hid_t file() { return H5T_STD_U8LE; }
};
template <>
struct TypeOf<float> {
  static hid_t mem() { return H5T_NATIVE_FLOAT; }
  static hid_t file() { return H5T_IEEE_F32LE; }
};
template <>
struct TypeOf<double> {
  static hid_t mem() { return H5T_NATIVE_DOUBLE; }
  static hid_t file() { return H5T_IEEE_F64LE; }
};

// A variable-length, null-terminated UTF-8 string type.
inline Datatype utf8_string_type() {
  Datatype t(H5Tcopy(H5T_C_S1), "copy string type");
  check(H5Tset_size(t.id(), kVariable), "set string size");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "set string character set");
  check(H5Tset_strpad(t.id(), H5T_STR_NULLTERM), "set string padding");
  return t;
}

// ------------------------------------------------------------------ spaces

inline Dataspace scalar_space() { return {H5Screate(H5S_SCALAR), "create scalar dataspace"}; }

inline Dataspace simple_space(const std::vector<hsize_t>& dims,
                              const std::vector<hsize_t>& maxdims = {}) {
  return {H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                    maxdims.empty() ? nullptr : maxdims.data()),
                   "create dataspace"};
}

// The dimensions of a dataset's dataspace.
inline std::vector<hsize_t> dims_of(hid_t dataset) {
  Dataspace space(H5Dget_space(dataset), "get dataspace");
  const int rank = check(H5Sget_simple_extent_ndims(space.id()), "get rank");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  check(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr), "get dimensions");
  return dims;
}

// ------------------------------------------------------------------ property lists

// A group or dataset creation property list that records no modification
// times, so that identical content gives identical bytes.
inline Plist untimed_plist(hid_t plist_class) {
  Plist p(H5Pcreate(plist_class), "create property list");
  check(H5Pset_obj_track_times(p.id(), false), "disable time tracking");
  return p;
}

// ------------------------------------------------------------------ groups

inline Group create_group(hid_t parent, const std::string& name) {
  const Plist gcpl = untimed_plist(H5P_GROUP_CREATE);
  return {H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT),
               "create group '" + name + "'"};
}

inline Group open_group(hid_t parent, const std::string& name) {
  return {H5Gopen2(parent, name.c_str(), H5P_DEFAULT), "open group '" + name + "'"};
}

// ------------------------------------------------------------------ attributes

inline void write_string_attribute(hid_t obj, const std::string& name, const std::string& value) {
  const Datatype type = utf8_string_type();
  const Dataspace space = scalar_space();
  const Attribute attr(H5Acreate2(obj, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                       "create attribute '" + name + "'");
  const char* p = value.c_str();
  check(H5Awrite(attr.id(), type.id(), &p), "write attribute '" + name + "'");
}

template <class T>
void write_scalar_attribute(hid_t obj, const std::string& name, T value) {
  const Dataspace space = scalar_space();
  const Attribute attr(
      H5Acreate2(obj, name.c_str(), TypeOf<T>::file(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
      "create attribute '" + name + "'");
  check(H5Awrite(attr.id(), TypeOf<T>::mem(), &value), "write attribute '" + name + "'");
}

inline std::string read_string_attribute(hid_t obj, const std::string& name) {
  const Attribute attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute '" + name + "'");
  const Datatype type = utf8_string_type();
  char* p = nullptr;
  check(H5Aread(attr.id(), type.id(), &p), "read attribute '" + name + "'");
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

template <class T>
T read_scalar_attribute(hid_t obj, const std::string& name) {
  const Attribute attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute '" + name + "'");
  T value{};
  check(H5Aread(attr.id(), TypeOf<T>::mem(), &value), "read attribute '" + name + "'");
  return value;
}

}  // namespace schoolsim::h5

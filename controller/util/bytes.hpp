#pragma once
// Records packed into one string: what the operator keeps per cluster between reconciles
// (reconcile/packed_snapshot.hpp) costs one allocation instead of one per string field, and no struct
// padding for the fields a record leaves empty. Not a wire format: bytes are read back by the process that
// wrote them, with the code that wrote them, so there is no version and no byte-order concern.
//
// Integers are LEB128 varints (signed ones zigzag-encoded), strings are a length and their bytes, an
// optional is a presence byte and its value. A reader that runs past the end (or meets a length longer
// than what is left) stops reading, returns empty values and says so in ok(): the caller then drops the
// record and reads afresh, never acts on half of one.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace raydog {

class ByteWriter {
 public:
  void u64(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(std::int64_t v) { u64((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void flag(bool b) { out_.push_back(b ? '\1' : '\0'); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void opt_str(const std::optional<std::string>& s) {
    flag(s.has_value());
    if (s) str(*s);
  }
  void opt_i64(const std::optional<std::int64_t>& v) {
    flag(v.has_value());
    if (v) i64(*v);
  }
  // The bytes, sized to fit (they are kept, so no spare capacity).
  std::string take() {
    out_.shrink_to_fit();
    return std::move(out_);
  }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      const auto byte = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    return fail();
  }
  std::int64_t i64() {
    const std::uint64_t v = u64();
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  bool flag() {
    if (pos_ >= in_.size()) {
      fail();
      return false;
    }
    return in_[pos_++] != '\0';
  }
  std::string str() {
    const std::uint64_t n = u64();
    if (n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::optional<std::string> opt_str() {
    if (!flag()) return std::nullopt;
    return str();
  }
  std::optional<std::int64_t> opt_i64() {
    if (!flag()) return std::nullopt;
    return i64();
  }
  // A count of items that follow, each at least one byte: more than the bytes left is a broken record.
  std::size_t count() {
    const std::uint64_t n = u64();
    if (n > in_.size() - pos_) {
      fail();
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

  // Every read so far was within the bytes; `at_end`: and nothing is left over.
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && pos_ == in_.size(); }

 private:
  std::uint64_t fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace raydog

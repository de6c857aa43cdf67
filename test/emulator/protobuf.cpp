#include "test/emulator/protobuf.hpp"

#include <cstring>

namespace raydog::emulator {

namespace {
constexpr int kVarint = 0, kFixed64 = 1, kLengthDelimited = 2;
}

void ProtoWriter::raw_varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_ += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out_ += static_cast<char>(v);
}

void ProtoWriter::tag(int field, int wire_type) {
  raw_varint((static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(wire_type));
}

void ProtoWriter::length_delimited(int field, const std::string& v) {
  tag(field, kLengthDelimited);
  raw_varint(v.size());
  out_ += v;
}

ProtoWriter& ProtoWriter::varint(int field, std::uint64_t v) {
  if (v == 0) return *this;
  tag(field, kVarint);
  raw_varint(v);
  return *this;
}

ProtoWriter& ProtoWriter::oneof_boolean(int field, bool v) {
  tag(field, kVarint);
  raw_varint(v ? 1 : 0);
  return *this;
}

ProtoWriter& ProtoWriter::dbl(int field, double v) {
  if (v == 0) return *this;
  tag(field, kFixed64);
  std::uint64_t bits;
  static_assert(sizeof bits == sizeof v);
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) out_ += static_cast<char>((bits >> (8 * i)) & 0xFF);  // little-endian
  return *this;
}

ProtoWriter& ProtoWriter::string(int field, const std::string& v) {
  if (!v.empty()) length_delimited(field, v);
  return *this;
}

ProtoWriter& ProtoWriter::repeated_string(int field, const std::string& v) {
  length_delimited(field, v);
  return *this;
}

ProtoWriter& ProtoWriter::message(int field, const ProtoWriter& m) {
  length_delimited(field, m.out_);
  return *this;
}

}  // namespace raydog::emulator

#pragma once
// A minimal protocol-buffers writer (proto3 wire format: varints, 64-bit doubles and length-delimited
// fields), enough to encode the OpenAPI v2 document older kubectl clients read as protobuf. Hand-rolled so
// the emulator needs no protobuf dependency; it only ever writes, never parses.
#include <cstdint>
#include <string>

namespace raydog::emulator {

class ProtoWriter {
 public:
  // proto3 leaves default values (0, false, "") off the wire; so do these.
  ProtoWriter& varint(int field, std::uint64_t v);
  ProtoWriter& boolean(int field, bool v) { return varint(field, v ? 1 : 0); }
  // A bool member of a oneof: written even when false, since being set is what the oneof says.
  ProtoWriter& oneof_boolean(int field, bool v);
  ProtoWriter& int64(int field, std::int64_t v) { return varint(field, static_cast<std::uint64_t>(v)); }
  ProtoWriter& dbl(int field, double v);
  ProtoWriter& string(int field, const std::string& v);
  // A nested message is written even when empty: presence matters for message fields
  // (an empty `properties` differs from none).
  ProtoWriter& message(int field, const ProtoWriter& m);
  // Repeated strings are written one element per field occurrence, empty elements included.
  ProtoWriter& repeated_string(int field, const std::string& v);

  const std::string& bytes() const { return out_; }

 private:
  void tag(int field, int wire_type);
  void raw_varint(std::uint64_t v);
  void length_delimited(int field, const std::string& v);
  std::string out_;
};

}  // namespace raydog::emulator

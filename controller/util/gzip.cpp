#include "controller/util/gzip.hpp"

#include <zlib.h>

#include <array>
#include <memory>
#include <stdexcept>

namespace raydog {
namespace {

// zlib streams kept per thread and reset between uses: a deflate stream allocates ~256 KB in four blocks and
// an inflate stream ~40 KB, and the operator compresses or inflates on every informer update and get() and
// every steady snapshot. Made per call, those large blocks were a good part of the steady reconcile's
// malloc time (perf at 10,000 clusters: malloc_consolidate on every large request).
struct Deflater {
  explicit Deflater(int level) {
    // windowBits 15 + 16: gzip header and trailer instead of zlib's.
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
  }
  ~Deflater() { deflateEnd(&zs); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  z_stream zs{};
};

struct Inflater {
  Inflater() {
    if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  }
  ~Inflater() { inflateEnd(&zs); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream zs{};
};

// Levels -1 (zlib's default) to 9, by level + 1.
z_stream& deflater(int level) {
  thread_local std::array<std::unique_ptr<Deflater>, 11> streams;
  if (level < -1 || level > 9) throw std::invalid_argument("gzip level out of range");
  auto& d = streams[static_cast<std::size_t>(level + 1)];
  if (!d) d = std::make_unique<Deflater>(level);
  else deflateReset(&d->zs);
  return d->zs;
}

z_stream& inflater() {
  thread_local std::unique_ptr<Inflater> stream;
  if (!stream) stream = std::make_unique<Inflater>();
  else inflateReset(&stream->zs);
  return stream->zs;
}

}  // namespace

std::string gzip_compress(std::string_view data, int level) {
  z_stream& zs = deflater(level);
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

std::optional<std::string> gzip_decompress(std::string_view data, std::size_t limit) {
  z_stream& zs = inflater();
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  if (limit <= (1u << 20)) out.reserve(limit);  // a caller that knows the size gives it as the limit
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > limit) break;
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) break;  // truncated input
  }
  if (rc != Z_STREAM_END || out.size() > limit) return std::nullopt;
  return out;
}

Gzipped Gzipped::of(std::string data) {
  Gzipped g;
  if (data.size() >= kFrom)
    if (std::string z = gzip_compress(data, 1); z.size() < data.size()) {
      g.gzipped_from = data.size();
      data = std::move(z);
    }
  g.bytes = std::move(data);
  g.bytes.shrink_to_fit();  // zlib sizes for its worst case, a dump() grows geometrically
  return g;
}

std::optional<std::string> Gzipped::inflate() const {
  if (!gzipped_from) return bytes;
  return gzip_decompress(bytes, gzipped_from);
}

}  // namespace raydog

#include "test/emulator/meta.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>

namespace raydog::emulator {

namespace {
std::mt19937_64& rng() {
  static std::mt19937_64 r{std::random_device{}()};
  return r;
}
}  // namespace

std::string new_uid() {
  std::uniform_int_distribution<int> d(0, 15);
  const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    int v = d(rng());
    if (i == 12) v = 4;
    if (i == 16) v = 8 + (v & 3);
    s += hex[v];
  }
  return s;
}

std::string random_suffix() {
  static const std::string alphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<size_t> d(0, alphabet.size() - 1);
  std::string s;
  for (int i = 0; i < 5; ++i) s += alphabet[d(rng())];
  return s;
}

namespace {
bool label_ok(const std::string& s, size_t b, size_t e, size_t max = 63) {
  if (e <= b || e - b > max) return false;
  auto alnum = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c));
  };
  if (!alnum(s[b]) || !alnum(s[e - 1])) return false;
  for (size_t i = b; i < e; ++i)
    if (!alnum(s[i]) && s[i] != '-') return false;
  return true;
}
}  // namespace

std::string check_dns_subdomain(const std::string& name) {
  // [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*, at most 253 characters
  bool ok = !name.empty() && name.size() <= 253;
  size_t start = 0;
  while (ok) {
    auto dot = name.find('.', start);
    size_t end = dot == std::string::npos ? name.size() : dot;
    if (!label_ok(name, start, end, 253)) ok = false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (ok) return "";
  if (name.size() > 253) return "must be no more than 253 characters";
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
         "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
         "is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

std::string check_dns_label(const std::string& name) {
  if (label_ok(name, 0, name.size())) return "";
  if (name.size() > 63) return "must be no more than 63 characters";
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
         "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
         "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
}

}  // namespace raydog::emulator

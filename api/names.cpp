#include "api/names.hpp"

#include <openssl/evp.h>

#include <cstdio>

namespace raydog::api::names {
namespace {

constexpr size_t kReadableBaseLength = 31;       // + "-" + 8 hex = 40, leaving 20 characters for suffixes
constexpr size_t kFitKeep = kMaxNameLength - 9;  // "-" + 8 hex

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_name_char(char c) {
  return is_lower(c) || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::string clip(std::string_view s, size_t n) {
  std::string out(s.substr(0, n));
  while (!out.empty() && (out.back() == '-' || out.back() == '_')) out.pop_back();
  return out;
}

std::string_view task_prefix(TaskKind kind) {
  switch (kind) {
    case TaskKind::kHead:
      return "head-";
    case TaskKind::kObservability:
      return "observability-";
    case TaskKind::kWorker:
      return "worker-";
  }
  return "task-";
}

}  // namespace

bool is_valid(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength || !is_lower(s[0])) return false;
  for (char c : s)
    if (!is_name_char(c)) return false;
  return true;
}

std::string hash8(std::string_view s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), digest, &len, EVP_sha256(), nullptr);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
  return std::string(hex, 8);
}

std::string clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    out.push_back(is_name_char(c) ? c : '-');
  }
  return out;
}

std::string fit(std::string_view s) {
  if (s.size() <= kMaxNameLength) return std::string(s);
  return clip(s, kFitKeep) + "-" + hash8(s);
}

std::string fit_prefix(std::string_view s) {
  return clip(s, kFitKeep);
}

std::string base(std::string_view k8s_namespace, std::string_view name, std::string_view uid) {
  std::string readable = std::string(kPrefix) + clean(k8s_namespace) + "-" + clean(name);
  return clip(readable, kReadableBaseLength) + "-" + hash8(uid);
}

std::string work_requirement(std::string_view base) {
  return fit(base);
}
std::string head_pool(std::string_view base) {
  return fit(std::string(base) + "-head");
}
std::string observability_pool(std::string_view base) {
  return fit(std::string(base) + "-obs");
}
std::string worker_pool(std::string_view base, std::string_view pool) {
  return fit(std::string(base) + "-w-" + clean(pool));
}
std::string worker_tag(std::string_view pool_name) {
  return std::string(pool_name);
}

std::string worker_task_group(std::string_view pool) {
  return fit("worker-nodes-" + clean(pool));
}

std::string task_group(TaskKind kind, std::string_view pool) {
  switch (kind) {
    case TaskKind::kHead:
      return std::string(kHeadTaskGroup);
    case TaskKind::kObservability:
      return std::string(kObservabilityTaskGroup);
    case TaskKind::kWorker:
      return worker_task_group(pool);
  }
  return {};
}

std::string task(TaskKind kind, int ordinal) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%05d", ordinal);
  return std::string(task_prefix(kind)) + digits;
}

std::optional<int> task_ordinal(TaskKind kind, std::string_view task_name) {
  std::string_view prefix = task_prefix(kind);
  if (!task_name.starts_with(prefix)) return std::nullopt;
  std::string_view digits = task_name.substr(prefix.size());
  if (digits.size() < 5 || digits.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || task(kind, value) != task_name) return std::nullopt;
  return value;
}

}  // namespace raydog::api::names

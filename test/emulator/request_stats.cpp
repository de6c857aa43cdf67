#include "test/emulator/request_stats.hpp"

#include <nlohmann/json.hpp>
#include <vector>

namespace raydog::emulator {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    auto j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool query_has_watch(const std::string& query) {
  for (const char* w : {"watch=1", "watch=true", "watch=True"}) {
    auto pos = query.find(w);
    while (pos != std::string::npos) {
      bool starts = pos == 0 || query[pos - 1] == '&' || query[pos - 1] == '?';
      auto end = pos + std::char_traits<char>::length(w);
      if (starts && (end == query.size() || query[end] == '&')) return true;
      pos = query.find(w, pos + 1);
    }
  }
  return false;
}

}  // namespace

std::string RequestStats::key_of(const std::string& method, const std::string& target) {
  auto q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  auto seg = split_path(path);
  std::string group;
  std::size_t at = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    at = 2;  // /api/v1
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    at = 3;  // /apis/G/V
  } else {
    return method + " /other";
  }
  bool watch = query_has_watch(query);
  if (at < seg.size() && seg[at] == "watch") {
    watch = true;
    ++at;
  }
  std::vector<std::string> rest(seg.begin() + static_cast<std::ptrdiff_t>(at), seg.end());
  if (rest.empty()) return method + " /other";
  // namespaces/NS/<resource>/...; "namespaces/NS" alone is the Namespace object itself.
  if (rest.size() >= 3 && rest[0] == "namespaces") rest.erase(rest.begin(), rest.begin() + 2);
  std::string resource = rest[0] + (group.empty() ? "" : "." + group);
  bool named = rest.size() >= 2;
  std::string sub = rest.size() >= 3 ? "/" + rest[2] : "";
  std::string verb = method;
  if (method == "GET") verb = watch ? "GET(watch)" : (named ? "GET" : "GET(list)");
  if (method == "DELETE" && !named) verb = "DELETE(collection)";
  return verb + " " + resource + sub;
}

void RequestStats::record(const std::string& method, const std::string& target, int code) {
  auto key = key_of(method, target);
  ++requests_[key];
  ++total_;
  if (method != "GET" && method != "HEAD" && method != "OPTIONS") ++writes_;
  if (code >= 400) ++errors_[key];
}

std::string RequestStats::to_json() const {
  nlohmann::json j = {{"requests", nlohmann::json::object()},
                      {"errors", nlohmann::json::object()},
                      {"totalRequests", total_},
                      {"writes", writes_}};
  for (const auto& [k, n] : requests_) j["requests"][k] = n;
  for (const auto& [k, n] : errors_) j["errors"][k] = n;
  return j.dump();
}

void RequestStats::reset() {
  requests_.clear();
  errors_.clear();
  total_ = writes_ = 0;
}

}  // namespace raydog::emulator

// Fuzz targets for what users and admins write: kubeconfigs (and the exec plugins they name), RayDogCluster
// manifests, YAML, durations, proxy variables and URL lists.
#include <nlohmann/json.hpp>
#include <chrono>
#include <string>

#include "api/defaults.hpp"
#include "api/duration.hpp"
#include "api/json.hpp"
#include "api/validation.hpp"
#include "controller/http/proxy.hpp"
#include "controller/http/url.hpp"
#include "controller/kube/config.hpp"
#include "controller/kube/exec_credential.hpp"
#include "controller/util/json_read.hpp"
#include "controller/util/time.hpp"
#include "controller/util/yaml_json.hpp"
#include "controller/yellowdog/allowed_urls.hpp"
#include "test/fuzz/targets.hpp"

namespace raydog::fuzz {
namespace {

// The first byte chooses a mode, the rest is the input.
std::pair<std::uint8_t, std::string_view> mode_and_text(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {0, {}};
  return {data[0], text_of(data + 1, size - 1)};
}

}  // namespace

int kubeconfig(const std::uint8_t* data, std::size_t size) {
  const auto [mode, text] = mode_and_text(data, size);
  if (mode % 2 == 0) {
    // Relative file names resolve under a folder that does not exist: nothing outside is read.
    auto rc = kube::parse_kubeconfig(text, "/nonexistent/raydog-fuzz/kubeconfig", mode % 4 == 2 ? "x" : "");
    if (!rc && rc.error().message.empty()) violated("kubeconfig: an error without a message");
    (void)kube::split_kubeconfig_env(text);
    return 0;
  }
  kube::ExecConfig exec;
  exec.api_version = mode % 4 == 1 ? "client.authentication.k8s.io/v1" : "client.authentication.k8s.io/v1beta1";
  exec.command = "/usr/local/bin/plugin";
  exec.origin = "fuzz: users[0].user.exec";
  auto cred = kube::parse_exec_output(exec, text);
  if (!cred && cred.error().message.empty()) violated("exec output: an error without a message");
  return 0;
}

int raydogcluster(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = text_of(data, size);
  auto cluster = api::parse_cluster_yaml(text);
  if (!cluster) {
    if (cluster.error().empty()) violated("raydogcluster: refused without a field error");
    return 0;
  }
  // What the operator does next: defaults, validation, and the JSON it would write back. A cluster that
  // validated must survive its own encoding.
  api::apply_defaults(*cluster);
  if (!api::validate(*cluster).empty()) return 0;
  nlohmann::json encoded;
  api::to_json(encoded, *cluster);
  auto again = api::parse_cluster(encoded);
  if (!again) violated("raydogcluster: a valid cluster's own JSON does not parse: " + json_text(encoded));
  // The JSON-level defaulting (the path the emulator's CRD defaulting mirrors) must not throw either.
  auto resource = raydog::yaml_to_json(text);
  if (resource && resource->is_object()) api::apply_defaults(*resource);
  return 0;
}

int yaml_json(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = text_of(data, size);
  auto docs = raydog::yaml_documents_to_json(text);
  auto one = raydog::yaml_to_json(text);
  if (!one) return 0;
  // Our YAML writer's output reads back as the same JSON.
  const std::string yaml = raydog::json_to_yaml(*one);
  auto back = raydog::yaml_to_json(yaml);
  if (!back) violated("yaml_json: json_to_yaml wrote YAML that does not parse: " + yaml);
  if (*back != *one) violated("yaml_json: round trip changed " + json_text(*one) + " into " + json_text(*back));
  (void)docs;
  return 0;
}

int durations(const std::uint8_t* data, std::size_t size) {
  const auto [mode, text] = mode_and_text(data, size);
  switch (mode % 4) {
    case 0:
      if (auto d = api::parse_go_duration(text)) {
        const std::string formatted = api::format_go_duration(*d);
        auto again = api::parse_go_duration(formatted);
        if (!again || *again != *d) violated("go duration: " + formatted + " does not read back");
      }
      break;
    case 1:
      if (auto d = api::parse_iso8601_duration(text)) {
        const std::string formatted = api::format_iso8601_duration(*d);
        auto again = api::parse_iso8601_duration(formatted);
        if (!again || *again != *d) violated("iso8601 duration: " + formatted + " does not read back");
      }
      break;
    case 2:
      if (auto d = raydog::parse_iso_duration(text)) {
        const std::string formatted = raydog::format_iso_duration(*d);
        auto again = raydog::parse_iso_duration(formatted);
        if (!again || *again != *d) violated("iso duration (ms): " + formatted + " does not read back");
      }
      break;
    default:
      if (auto t = raydog::parse_rfc3339(text)) {
        // The formatter writes four-digit years and at most microseconds (Kubernetes MicroTime): within
        // that range, what it writes reads back as the same instant.
        using namespace std::chrono;
        const auto year = static_cast<int>(year_month_day(floor<days>(*t)).year());
        if (year < 1 || year > 9999) break;
        const std::string formatted = raydog::format_rfc3339(*t, 6);
        auto again = raydog::parse_rfc3339(formatted);
        if (!again || floor<microseconds>(*again) != floor<microseconds>(*t))
          violated("rfc3339: " + formatted + " does not read back");
      }
      break;
  }
  return 0;
}

int egress(const std::uint8_t* data, std::size_t size) {
  const auto [mode, text] = mode_and_text(data, size);
  if (mode % 3 == 0) {
    // HTTPS_PROXY, HTTP_PROXY and NO_PROXY, one per line.
    const auto first = text.find('\n');
    const auto second = first == std::string_view::npos ? first : text.find('\n', first + 1);
    const std::string_view https = text.substr(0, first);
    const std::string_view http = first == std::string_view::npos ? std::string_view{} : text.substr(first + 1, second - first - 1);
    const std::string_view no_proxy = second == std::string_view::npos ? std::string_view{} : text.substr(second + 1);
    auto parsed = http::EgressProxies::parse(https, http, no_proxy);
    if (!parsed.error.empty() && parsed.proxies.any()) violated("egress: an error with routes set");
    for (const char* target : {"https://api.yellowdog.ai", "http://10.0.0.7:8001", "https://[::1]:6443"}) {
      http::Url u;
      if (!http::parse_url(target, u)) violated("egress: a fixed URL does not parse");
      (void)parsed.proxies.route(u);
    }
    (void)parsed.proxies.describe();
    return 0;
  }
  if (mode % 3 == 1) {
    auto list = yellowdog::AllowedUrls::parse(text);
    if (list) {
      // The list's own text parses into the same list.
      auto again = yellowdog::AllowedUrls::parse(list->to_string());
      if (!again || again->to_string() != list->to_string()) violated("allowed urls: to_string does not read back");
      (void)list->refusal("https://api.yellowdog.ai");
      (void)list->refusal(text);
    }
    return 0;
  }
  http::Url u;
  if (http::parse_url(text, u)) {
    // Every URL the client accepts has a port in range and a non-empty host.
    if (u.host.empty() || u.port.empty()) violated("parse_url: accepted a URL without host or port");
    (void)http::parse_proxy_url(text, "fuzz");
  }
  (void)http::percent_decode(text, mode % 2 == 0);
  return 0;
}

}  // namespace raydog::fuzz

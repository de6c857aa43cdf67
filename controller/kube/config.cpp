#include "controller/kube/config.hpp"

#include "controller/util/strings.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "controller/util/base64.hpp"
#include "controller/util/files.hpp"
#include "controller/util/json_read.hpp"
#include "controller/util/yaml_json.hpp"

namespace raydog::kube {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string quote(std::string_view s) {
  return json_text(json(std::string(s)));  // YAML may hold invalid UTF-8: shown as U+FFFD, never thrown
}

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "a mapping";
    case json::value_t::array:
      return "a list";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    default:
      return "a number";
  }
}

// A failure located in a file: "<file>: <field>: <what>".
struct Where {
  std::string file;
  std::string field;
  Where at(std::string_view child) const {
    return {file, field.empty() ? std::string(child) : field + "." + std::string(child)};
  }
  Where index(std::size_t i) const { return {file, field + "[" + std::to_string(i) + "]"}; }
  ConfigError error(std::string_view what) const {
    return {file + ": " + (field.empty() ? std::string() : field + ": ") + std::string(what)};
  }
};

// Reads a whole (small) file; the error names the path and errno text.
Result<std::string, std::string> slurp(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return unexpected("cannot read " + quote(path) + ": " + text.error());
  return text;
}

std::string resolve_path(const std::string& dir, const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  if (p.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  return (fs::path(dir) / p).lexically_normal().string();
}

// Typed field readers: absent or null is "not set"; any other wrong type is an error.
std::optional<ConfigError> read_string(const json& obj, const char* key, const Where& w, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return w.at(key).error(std::string("expected a string, got ") + type_name(*it));
  out = it->get<std::string>();
  return std::nullopt;
}
std::optional<ConfigError> read_bool(const json& obj, const char* key, const Where& w, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return w.at(key).error(std::string("expected true or false, got ") + type_name(*it));
  out = it->get<bool>();
  return std::nullopt;
}
std::optional<ConfigError> read_pem_data(const json& obj, const char* key, const Where& w, std::string& out,
                                         const char* what) {
  std::string text;
  if (auto e = read_string(obj, key, w, text)) return e;
  if (text.empty()) return std::nullopt;
  auto decoded = base64_decode(text);
  if (!decoded) return w.at(key).error("not valid base64");
  if (decoded->find("-----BEGIN") == std::string::npos)
    return w.at(key).error(std::string("decodes to something that is not PEM (expected ") + what + ")");
  out = std::move(*decoded);
  return std::nullopt;
}

struct Cluster {
  Where where;
  std::string dir;
  std::string server, ca_file, ca_data, tls_server_name, proxy_url;
  bool insecure = false;
};
struct User {
  Where where;
  std::string dir;
  std::string token, token_file, cert_file, cert_data, key_file, key_data, username, password;
  std::optional<ExecConfig> exec;
  bool has_auth_provider = false;
};
struct Context {
  Where where;
  std::string cluster, user, namespace_name;
};

struct FileData {
  std::string path;
  std::string current_context;
  std::map<std::string, Cluster> clusters;
  std::map<std::string, User> users;
  std::map<std::string, Context> contexts;
};

std::optional<ConfigError> parse_exec(const json& e, const Where& w, ExecConfig& out) {
  if (!e.is_object()) return w.error(std::string("expected a mapping, got ") + type_name(e));
  if (auto err = read_string(e, "command", w, out.command)) return err;
  if (out.command.empty()) return w.at("command").error("required");
  if (auto err = read_string(e, "apiVersion", w, out.api_version)) return err;
  if (out.api_version.empty()) return w.at("apiVersion").error("required");
  if (out.api_version == "client.authentication.k8s.io/v1alpha1")
    return w.at("apiVersion").error("client.authentication.k8s.io/v1alpha1 is no longer supported; use v1");
  if (out.api_version != "client.authentication.k8s.io/v1" &&
      out.api_version != "client.authentication.k8s.io/v1beta1")
    return w.at("apiVersion")
        .error("unsupported " + quote(out.api_version) +
               " (want client.authentication.k8s.io/v1 or v1beta1)");
  if (auto it = e.find("args"); it != e.end() && !it->is_null()) {
    if (!it->is_array()) return w.at("args").error(std::string("expected a list, got ") + type_name(*it));
    for (std::size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_string())
        return w.at("args").index(i).error(std::string("expected a string, got ") + type_name((*it)[i]));
      out.args.push_back((*it)[i].get<std::string>());
    }
  }
  if (auto it = e.find("env"); it != e.end() && !it->is_null()) {
    if (!it->is_array()) return w.at("env").error(std::string("expected a list, got ") + type_name(*it));
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& item = (*it)[i];
      Where iw = w.at("env").index(i);
      if (!item.is_object()) return iw.error(std::string("expected a mapping, got ") + type_name(item));
      std::string name, value;
      if (auto err = read_string(item, "name", iw, name)) return err;
      if (name.empty()) return iw.at("name").error("required");
      if (auto err = read_string(item, "value", iw, value)) return err;
      out.env.emplace_back(std::move(name), std::move(value));
    }
  }
  if (auto err = read_bool(e, "provideClusterInfo", w, out.provide_cluster_info)) return err;
  std::string mode;
  if (auto err = read_string(e, "interactiveMode", w, mode)) return err;
  if (!mode.empty()) {
    if (mode != "Never" && mode != "IfAvailable" && mode != "Always")
      return w.at("interactiveMode").error("must be Never, IfAvailable or Always, got " + quote(mode));
    out.interactive_mode = mode;
  }
  out.origin = w.file + ": " + w.field;
  return std::nullopt;
}

// Reads one list section ("clusters", "users", "contexts") into `out` by name, checking shapes and names;
// `read(body, value)` reads one entry's body into a value whose `where` is already set.
template <class T, class Read>
std::optional<ConfigError> read_named(const json& root, const char* section, const char* inner,
                                      const Where& top, std::map<std::string, T>& out, Read&& read) {
  auto it = root.find(section);
  if (it == root.end() || it->is_null()) return std::nullopt;
  Where sw = top.at(section);
  if (!it->is_array()) return sw.error(std::string("expected a list, got ") + type_name(*it));
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    Where iw = sw.index(i);
    if (!item.is_object()) return iw.error(std::string("expected a mapping, got ") + type_name(item));
    std::string name;
    if (auto err = read_string(item, "name", iw, name)) return err;
    if (name.empty()) return iw.at("name").error("required");
    if (auto [pos, fresh] = seen.emplace(name, i); !fresh)
      return iw.at("name").error("duplicate name " + quote(name) + " (also " + section + "[" +
                                 std::to_string(pos->second) + "])");
    static const json empty = json::object();
    auto body = item.find(inner);
    const json& b = (body == item.end() || body->is_null()) ? empty : *body;
    Where bw = iw.at(inner);
    if (!b.is_object()) return bw.error(std::string("expected a mapping, got ") + type_name(b));
    T value;
    value.where = bw;
    if (auto err = read(b, value)) return err;
    out.emplace(name, std::move(value));
  }
  return std::nullopt;
}

std::optional<ConfigError> read_cluster(const json& c, Cluster& cl) {
  const Where& w = cl.where;
  if (auto e = read_string(c, "server", w, cl.server)) return e;
  if (auto e = read_string(c, "certificate-authority", w, cl.ca_file)) return e;
  if (auto e = read_pem_data(c, "certificate-authority-data", w, cl.ca_data, "a CA certificate")) return e;
  if (auto e = read_bool(c, "insecure-skip-tls-verify", w, cl.insecure)) return e;
  if (auto e = read_string(c, "tls-server-name", w, cl.tls_server_name)) return e;
  return read_string(c, "proxy-url", w, cl.proxy_url);
}

std::optional<ConfigError> read_user(const json& u, User& us) {
  const Where& w = us.where;
  if (auto e = read_string(u, "token", w, us.token)) return e;
  if (auto e = read_string(u, "tokenFile", w, us.token_file)) return e;
  if (auto e = read_string(u, "client-certificate", w, us.cert_file)) return e;
  if (auto e = read_pem_data(u, "client-certificate-data", w, us.cert_data, "a client certificate")) return e;
  if (auto e = read_string(u, "client-key", w, us.key_file)) return e;
  if (auto e = read_pem_data(u, "client-key-data", w, us.key_data, "a private key")) return e;
  if (auto e = read_string(u, "username", w, us.username)) return e;
  if (auto e = read_string(u, "password", w, us.password)) return e;
  if (!us.cert_file.empty() && !us.cert_data.empty())
    return w.error("client-certificate and client-certificate-data are both set; set one");
  if (!us.key_file.empty() && !us.key_data.empty())
    return w.error("client-key and client-key-data are both set; set one");
  bool has_cert = !us.cert_file.empty() || !us.cert_data.empty();
  bool has_key = !us.key_file.empty() || !us.key_data.empty();
  if (has_cert && !has_key) return w.error("client-certificate(-data) is set without client-key(-data)");
  if (has_key && !has_cert) return w.error("client-key(-data) is set without client-certificate(-data)");
  if (auto it = u.find("exec"); it != u.end() && !it->is_null()) {
    ExecConfig ex;
    if (auto e = parse_exec(*it, w.at("exec"), ex)) return e;
    us.exec = std::move(ex);
  }
  if (auto it = u.find("auth-provider"); it != u.end() && !it->is_null()) us.has_auth_provider = true;
  return std::nullopt;
}

std::optional<ConfigError> read_context(const json& c, Context& cx) {
  if (auto e = read_string(c, "cluster", cx.where, cx.cluster)) return e;
  if (auto e = read_string(c, "user", cx.where, cx.user)) return e;
  return read_string(c, "namespace", cx.where, cx.namespace_name);
}

Result<FileData, ConfigError> parse_file(std::string_view text, const std::string& path) {
  FileData fd;
  fd.path = path;
  const std::string dir = fs::path(path).parent_path().string();
  auto parsed = yaml_to_json(text);
  if (!parsed) return unexpected(ConfigError{path + ": not valid YAML: " + parsed.error().message});
  const json& root = *parsed;
  if (root.is_null()) return fd;  // an empty file is an empty config (as in client-go)
  Where top{path, ""};
  if (!root.is_object())
    return unexpected(
        ConfigError{path + ": not a kubeconfig: expected a mapping at the top, got " + type_name(root)});
  std::string kind;
  if (auto e = read_string(root, "kind", top, kind)) return unexpected(*e);
  if (!kind.empty() && kind != "Config")
    return unexpected(top.at("kind").error("expected \"Config\", got " + quote(kind)));
  if (auto e = read_string(root, "current-context", top, fd.current_context)) return unexpected(*e);

  auto err = read_named(root, "clusters", "cluster", top, fd.clusters, [&](const json& c, Cluster& cl) {
    cl.dir = dir;
    return read_cluster(c, cl);
  });
  if (!err)
    err = read_named(root, "users", "user", top, fd.users, [&](const json& u, User& us) {
      us.dir = dir;
      return read_user(u, us);
    });
  if (!err) err = read_named(root, "contexts", "context", top, fd.contexts, read_context);
  if (err) return unexpected(*err);
  return fd;
}

std::string join_paths(const std::vector<FileData>& files) {
  std::string out;
  for (const auto& f : files) out += (out.empty() ? "" : ":") + f.path;
  return out.empty() ? "(no kubeconfig files)" : out;
}

Result<std::string, ConfigError> read_pem_file(const Where& w, const char* key, const std::string& dir,
                                               const std::string& file) {
  auto text = slurp(resolve_path(dir, file));
  if (!text) return unexpected(w.at(key).error(text.error()));
  if (text->find("-----BEGIN") == std::string::npos)
    return unexpected(w.at(key).error(quote(resolve_path(dir, file)) + " is not a PEM file"));
  return std::move(*text);
}

// PEM given inline (`data`, already decoded) or as a file named under `file_key`; "" when neither is set.
Result<std::string, ConfigError> inline_or_file_pem(const Where& w, const char* file_key,
                                                    const std::string& dir, const std::string& data,
                                                    const std::string& file) {
  if (!data.empty()) return data;
  if (file.empty()) return std::string();
  return read_pem_file(w, file_key, dir, file);
}

// Resolves the chosen context across the merged files into a RestConfig.
Result<RestConfig, ConfigError> resolve(const std::vector<FileData>& files, const std::string& override_ctx) {
  std::map<std::string, const Cluster*> clusters;
  std::map<std::string, const User*> users;
  std::map<std::string, const Context*> contexts;
  std::string current;
  for (const auto& f : files) {  // first wins
    for (const auto& [n, c] : f.clusters) clusters.emplace(n, &c);
    for (const auto& [n, u] : f.users) users.emplace(n, &u);
    for (const auto& [n, c] : f.contexts) contexts.emplace(n, &c);
    if (current.empty()) current = f.current_context;
  }
  const std::string where_all = join_paths(files);
  std::string ctx_name = override_ctx.empty() ? current : override_ctx;
  if (ctx_name.empty())
    return unexpected(ConfigError{where_all + ": current-context: not set (and no --context given)"});
  auto cit = contexts.find(ctx_name);
  if (cit == contexts.end()) {
    if (!override_ctx.empty())
      return unexpected(ConfigError{where_all + ": --context " + quote(ctx_name) + ": no such context"});
    return unexpected(
        ConfigError{where_all + ": current-context: context " + quote(ctx_name) + " not found"});
  }
  const Context& cx = *cit->second;
  if (cx.cluster.empty()) return unexpected(cx.where.at("cluster").error("required"));
  auto clit = clusters.find(cx.cluster);
  if (clit == clusters.end())
    return unexpected(cx.where.at("cluster").error("cluster " + quote(cx.cluster) + " not found"));
  const Cluster& cl = *clit->second;

  RestConfig rc;
  rc.context = ctx_name;
  rc.origin = "kubeconfig " + cx.where.file + " (context " + ctx_name + ")";
  if (!cx.namespace_name.empty()) rc.namespace_name = cx.namespace_name;

  if (cl.server.empty()) return unexpected(cl.where.at("server").error("required"));
  rc.server = cl.server;
  if (rc.server.find("://") == std::string::npos) rc.server = "https://" + rc.server;
  if (rc.server.rfind("https://", 0) != 0 && rc.server.rfind("http://", 0) != 0)
    return unexpected(
        cl.where.at("server").error("must be an http:// or https:// URL, got " + quote(cl.server)));
  while (rc.server.size() > 8 && rc.server.back() == '/') rc.server.pop_back();
  if (!cl.proxy_url.empty()) {  // as client-go: it wins over HTTPS_PROXY for this cluster, NO_PROXY included
    auto proxy = http::parse_proxy_url(cl.proxy_url, "proxy-url");
    if (!proxy.endpoint)
      return unexpected(cl.where.at("proxy-url").error(proxy.error.substr(std::string("proxy-url: ").size())));
    rc.proxy = std::move(proxy.endpoint);
  }
  rc.insecure_skip_tls_verify = cl.insecure;
  rc.tls_server_name = cl.tls_server_name;
  auto ca = inline_or_file_pem(cl.where, "certificate-authority", cl.dir, cl.ca_data, cl.ca_file);
  if (!ca) return unexpected(ca.error());
  rc.ca_pem = std::move(*ca);
  if (cl.insecure && !rc.ca_pem.empty())
    return unexpected(cl.where.error(
        "insecure-skip-tls-verify: cannot be combined with certificate-authority(-data); remove one"));

  if (!cx.user.empty()) {
    auto uit = users.find(cx.user);
    if (uit == users.end())
      return unexpected(cx.where.at("user").error("user " + quote(cx.user) + " not found"));
    const User& us = *uit->second;
    if (us.has_auth_provider && !us.exec)
      return unexpected(
          us.where.at("auth-provider").error("auth-provider plugins are not supported; use exec"));
    rc.token = us.token;
    if (!us.token_file.empty()) {
      rc.token_file = resolve_path(us.dir, us.token_file);
      auto t = slurp(rc.token_file);
      if (!t) return unexpected(us.where.at("tokenFile").error(t.error()));
    }
    auto cert = inline_or_file_pem(us.where, "client-certificate", us.dir, us.cert_data, us.cert_file);
    if (!cert) return unexpected(cert.error());
    rc.client_cert_pem = std::move(*cert);
    auto key = inline_or_file_pem(us.where, "client-key", us.dir, us.key_data, us.key_file);
    if (!key) return unexpected(key.error());
    rc.client_key_pem = std::move(*key);
    rc.username = us.username;
    rc.password = us.password;
    if (us.exec) {
      if (us.exec->interactive_mode == "Always")
        return unexpected(us.where.at("exec")
                              .at("interactiveMode")
                              .error("\"Always\" needs a terminal; raydog-operator runs non-interactively"));
      rc.exec = us.exec;
      // client-go resolves a relative command with a path separator against the kubeconfig's folder.
      if (rc.exec->command.find('/') != std::string::npos)
        rc.exec->command = resolve_path(us.dir, rc.exec->command);
    }
  }
  return rc;
}

std::optional<std::string> getenv_opt(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

}  // namespace

ConfigEnv ConfigEnv::from_process() {
  ConfigEnv env;
  env.kubeconfig = getenv_opt("KUBECONFIG");
  env.home = getenv_opt("HOME").value_or("");
  env.service_host = getenv_opt("KUBERNETES_SERVICE_HOST");
  env.service_port = getenv_opt("KUBERNETES_SERVICE_PORT");
  env.pod_namespace = getenv_opt("POD_NAMESPACE");
  return env;
}

std::vector<std::string> split_kubeconfig_env(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(':', start);
    if (end == std::string_view::npos) end = value.size();
    if (end > start) out.emplace_back(value.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Result<RestConfig, ConfigError> parse_kubeconfig(std::string_view text, const std::string& path,
                                                 const std::string& context) {
  auto fd = parse_file(text, path);
  if (!fd) return unexpected(fd.error());
  std::vector<FileData> files;
  files.push_back(std::move(*fd));
  return resolve(files, context);
}

Result<RestConfig, ConfigError> load_kubeconfig(const std::vector<std::string>& paths,
                                                const std::string& context, bool skip_missing) {
  std::vector<FileData> files;
  std::vector<std::string> missing;
  for (const auto& p : paths) {
    std::error_code ec;
    if (skip_missing && !fs::exists(p, ec)) {
      missing.push_back(p);
      continue;
    }
    auto text = slurp(p);
    if (!text) return unexpected(ConfigError{p + ": " + text.error()});
    auto fd = parse_file(*text, p);
    if (!fd) return unexpected(fd.error());
    files.push_back(std::move(*fd));
  }
  if (files.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return unexpected(
        ConfigError{"no kubeconfig file exists (looked for: " + (list.empty() ? "nothing" : list) + ")"});
  }
  return resolve(files, context);
}

Result<RestConfig, ConfigError> load_in_cluster(const ConfigEnv& env) {
  if (!env.service_host || env.service_host->empty() || !env.service_port || env.service_port->empty())
    return unexpected(
        ConfigError{"not in cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set"});
  RestConfig rc;
  rc.in_cluster = true;
  rc.origin = "in-cluster";
  std::string host = *env.service_host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  rc.server = "https://" + host + ":" + *env.service_port;
  const std::string token = env.service_account_dir + "/token";
  auto t = slurp(token);
  if (!t) return unexpected(ConfigError{"in-cluster: service-account token: " + t.error()});
  if (trim(*t).empty()) return unexpected(ConfigError{"in-cluster: " + token + ": empty token"});
  rc.token_file = token;
  const std::string ca = env.service_account_dir + "/ca.crt";
  auto c = slurp(ca);
  if (!c) return unexpected(ConfigError{"in-cluster: service-account CA: " + c.error()});
  if (c->find("-----BEGIN") == std::string::npos)
    return unexpected(ConfigError{"in-cluster: " + ca + ": not a PEM certificate bundle"});
  rc.ca_pem = std::move(*c);
  if (env.pod_namespace && !env.pod_namespace->empty()) {
    rc.namespace_name = *env.pod_namespace;
  } else if (auto ns = slurp(env.service_account_dir + "/namespace"); ns && !trim(*ns).empty()) {
    rc.namespace_name = trim(*ns);
  }
  return rc;
}

Result<RestConfig, ConfigError> load_config(const LoadOptions& options) {
  if (!options.kubeconfig.empty()) return load_kubeconfig({options.kubeconfig}, options.context);
  const ConfigEnv& env = options.env;
  if (!env.kubeconfig && env.service_host && env.service_port) {
    auto rc = load_in_cluster(env);
    if (!rc) return rc;
    if (!options.context.empty())
      return unexpected(
          ConfigError{"--context " + quote(options.context) + " given but running with in-cluster config"});
    return rc;
  }
  if (env.kubeconfig) {
    auto list = split_kubeconfig_env(*env.kubeconfig);
    if (!list.empty()) return load_kubeconfig(list, options.context, /*skip_missing=*/true);
  }
  if (env.home.empty())
    return unexpected(
        ConfigError{"no kubeconfig: --kubeconfig not given, KUBECONFIG unset, not in cluster, "
                    "and HOME is unset"});
  std::string def = env.home + "/.kube/config";
  std::error_code ec;
  if (!fs::exists(def, ec))
    return unexpected(
        ConfigError{"no kubeconfig: --kubeconfig not given, KUBECONFIG unset, not in cluster "
                    "(KUBERNETES_SERVICE_HOST/PORT unset), and " +
                    def + " does not exist"});
  return load_kubeconfig({def}, options.context);
}

}  // namespace raydog::kube

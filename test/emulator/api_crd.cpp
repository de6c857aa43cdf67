// CustomResourceDefinition lifecycle (§13.1, §10.4): register on create/update with Established status,
// cascade deletion of instances, unregister when the last instance is gone.
#include <algorithm>

#include "test/emulator/api.hpp"
#include "test/emulator/api_internal.hpp"
#include "test/emulator/meta.hpp"

namespace raydog::emulator {

namespace {

const char* kCleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";

json condition(const json& old_conditions, const std::string& type, const std::string& status,
               const std::string& reason, const std::string& message, const std::string& now) {
  std::string ltt = now;
  if (old_conditions.is_array())
    for (const auto& c : old_conditions)
      if (c.value("type", "") == type && c.value("status", "") == status)
        ltt = c.value("lastTransitionTime", now);
  return {{"type", type},
          {"status", status},
          {"reason", reason},
          {"message", message},
          {"lastTransitionTime", ltt}};
}

}  // namespace

void Api::after_crd_write(ObjPtr crd) {
  const std::string name = meta_str(*crd, "name");
  auto crd_info_ptr = registry_.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  const ResourceInfo& crd_info = *crd_info_ptr;
  auto infos = crd_to_resources(*crd);
  if (!infos) return;  // validated before it was stored
  bool terminating = !meta_str(*crd, "deletionTimestamp").empty();
  if (!terminating) registry_.register_crd(name, *infos);
  const json spec = crd->value("spec", json::object());
  json status = crd->value("status", json::object());
  json old_conditions = status.value("conditions", json::array());
  std::string now = format_time(store_.now());
  json names = spec.value("names", json::object());
  if (!names.contains("singular") && !infos->empty()) names["singular"] = infos->front().singular;
  if (!names.contains("listKind") && !infos->empty()) names["listKind"] = infos->front().list_kind;
  status["acceptedNames"] = names;
  json stored_versions = status.value("storedVersions", json::array());
  for (const auto& v : spec.value("versions", json::array()))
    if (v.value("storage", false) &&
        std::find(stored_versions.begin(), stored_versions.end(), v["name"]) == stored_versions.end())
      stored_versions.push_back(v["name"]);
  status["storedVersions"] = stored_versions;
  json conds = json::array();
  conds.push_back(
      condition(old_conditions, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now));
  conds.push_back(condition(old_conditions, "Established", "True", "InitialNamesAccepted",
                            "the initial names have been accepted", now));
  if (terminating)
    conds.push_back(condition(
        old_conditions, "Terminating", "True", "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; instances with finalizers are still present", now));
  status["conditions"] = conds;
  json next = *crd;
  next["status"] = status;
  (void)store_.update(crd_info, std::move(next), Store::Part::kStatus);
}

Result<ApiResponse, ApiError> Api::delete_crd(const ResourceInfo& info, const std::string& name,
                                              const json& options) {
  ObjPtr crd = store_.get(info, "", name);
  if (!crd) return unexpected(not_found(info.qualified(), info.group, info.plural, name));
  // Delete every instance (finalizers hold some back).
  std::vector<ResourceInfo> served;
  for (const auto& r : registry_.all())
    if (r->custom && r->crd_name == name) served.push_back(*r);
  if (!served.empty()) {
    const ResourceInfo& inst = served.front();
    for (const auto& o : store_.list(inst, ""))
      (void)store_.remove(inst, meta_str(*o, "namespace"), meta_str(*o, "name"), nullptr);
  }
  bool remaining = !served.empty() && store_.count(served.front()) > 0;
  json details = {
      {"name", name}, {"group", info.group}, {"kind", info.plural}, {"uid", meta_str(*crd, "uid")}};
  if (!remaining) {
    registry_.unregister_crd(name);
    auto out = store_.remove(info, "", name, options);
    if (!out) return unexpected(out.error());
    if (out->deleted) return json_response(200, success_status(details));
    return json_response(200, *out->object);
  }
  // Instances with finalizers remain: the CRD waits in Terminating with the cleanup finalizer.
  json next = *crd;
  auto& fins = next["metadata"]["finalizers"];
  if (!fins.is_array()) fins = json::array();
  if (std::find(fins.begin(), fins.end(), kCleanupFinalizer) == fins.end() &&
      meta_str(*crd, "deletionTimestamp").empty())
    fins.push_back(kCleanupFinalizer);
  (void)store_.update(info, std::move(next), Store::Part::kMain);
  auto out = store_.remove(info, "", name, options);
  if (!out) return unexpected(out.error());
  after_crd_write(out->object);
  return json_response(200, *store_.get(info, "", name));
}

void Api::finish_crd_deletions() {
  auto info_ptr = registry_.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  const ResourceInfo& info = *info_ptr;
  for (const auto& crd : store_.list(info, "")) {
    if (meta_str(*crd, "deletionTimestamp").empty()) continue;
    const std::string name = meta_str(*crd, "name");
    std::vector<ResourceInfo> served;
    for (const auto& r : registry_.all())
      if (r->custom && r->crd_name == name) served.push_back(*r);
    if (!served.empty() && store_.count(served.front()) > 0) continue;
    registry_.unregister_crd(name);
    json next = *crd;
    json fins = json::array();
    for (const auto& f : next["metadata"].value("finalizers", json::array()))
      if (f != kCleanupFinalizer) fins.push_back(f);
    next["metadata"]["finalizers"] = fins;
    (void)store_.update(info, std::move(next), Store::Part::kMain);
  }
}

}  // namespace raydog::emulator

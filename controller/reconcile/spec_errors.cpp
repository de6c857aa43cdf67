#include "controller/reconcile/spec_errors.hpp"

#include "api/validation.hpp"

namespace raydog::reconcile {

namespace {

// `path` is `prefix` or a field below it ("spec.head" is under "spec", "spec.headless" is not).
bool under(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

}  // namespace

api::FieldErrors compute_spec_errors(const Observed& o) {
  api::FieldErrors errors;
  for (const auto& d : o.decode_errors)
    if (!under(d.path, "status")) errors.push_back(d);
  for (auto& e : api::validate(o.cluster)) {
    bool shadowed = false;
    for (const auto& d : o.decode_errors) shadowed = shadowed || under(e.path, d.path);
    if (!shadowed) errors.push_back(std::move(e));
  }
  return errors;
}

api::FieldErrors spec_errors(const Observed& o) {
  return o.spec_errors ? *o.spec_errors : compute_spec_errors(o);
}

const api::FieldErrors& record_spec_errors(Observed& o) {
  o.spec_errors = compute_spec_errors(o);
  return *o.spec_errors;
}

}  // namespace raydog::reconcile

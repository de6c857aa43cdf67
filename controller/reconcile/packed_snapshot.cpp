#include "controller/reconcile/packed_snapshot.hpp"

namespace raydog::reconcile {

namespace yd = raydog::yellowdog;

namespace {

// Each record's fields in declaration order; `read_*` mirrors `write_*` line for line.

void write_strings(ByteWriter& w, const std::vector<std::string>& v) {
  w.u64(v.size());
  for (const auto& s : v) w.str(s);
}

std::vector<std::string> read_strings(ByteReader& r) {
  std::vector<std::string> v(r.count());
  for (auto& s : v) s = r.str();
  return v;
}

template <class Enum>
void write_opt_enum(ByteWriter& w, const std::optional<Enum>& e) {
  w.flag(e.has_value());
  if (e) w.str(e->str());
}

template <class Enum>
std::optional<Enum> read_opt_enum(ByteReader& r) {
  if (!r.flag()) return std::nullopt;
  return Enum(r.str());
}

void write_error(ByteWriter& w, const yd::TaskError& e) {
  w.str(e.timestamp);
  w.str(e.error);
  w.opt_str(e.node_id);
  w.opt_str(e.worker_id);
  w.str(e.error_type.str());
  write_opt_enum(w, e.status_at_failure);
  w.opt_i64(e.process_exit_code);
  w.flag(e.caused_failure.has_value());
  if (e.caused_failure) w.flag(*e.caused_failure);
  w.str(e.extra.empty() ? std::string() : e.extra.dump());
}

yd::TaskError read_error(ByteReader& r) {
  yd::TaskError e;
  e.timestamp = r.str();
  e.error = r.str();
  e.node_id = r.opt_str();
  e.worker_id = r.opt_str();
  e.error_type = yd::TaskErrorType(r.str());
  e.status_at_failure = read_opt_enum<yd::TaskStatus>(r);
  e.process_exit_code = r.opt_i64();
  if (r.flag()) e.caused_failure = r.flag();
  const std::string extra = r.str();
  if (!extra.empty()) e.extra = yd::Json::parse(extra, nullptr, /*allow_exceptions=*/false);
  if (e.extra.is_discarded()) e.extra = yd::Json::object();
  return e;
}

void write_task(ByteWriter& w, const TaskRecord& t) {
  w.str(t.id);
  w.str(t.name);
  w.str(t.status.str());
  w.opt_str(t.worker_id);
  w.opt_str(t.node_id);
  w.opt_str(t.started_time);
  w.opt_str(t.finished_time);
  w.u64(t.environment.size());
  for (const auto& [key, value] : t.environment) {
    w.str(key);
    w.str(value);
  }
  w.u64(t.errors.size());
  for (const auto& e : t.errors) write_error(w, e);
}

TaskRecord read_task(ByteReader& r) {
  TaskRecord t;
  t.id = r.str();
  t.name = r.str();
  t.status = yd::TaskStatus(r.str());
  t.worker_id = r.opt_str();
  t.node_id = r.opt_str();
  t.started_time = r.opt_str();
  t.finished_time = r.opt_str();
  t.environment.resize(r.count());
  for (auto& [key, value] : t.environment) {
    key = r.str();
    value = r.str();
  }
  t.errors.resize(r.count());
  for (auto& e : t.errors) e = read_error(r);
  return t;
}

// The fields trimmed() keeps, and no other.
void write_work_requirement(ByteWriter& w, const yd::WorkRequirement& wr) {
  w.opt_str(wr.id);
  write_opt_enum(w, wr.status);
  w.str(wr.namespace_);
  w.str(wr.name);
  w.opt_str(wr.created_time);
  w.opt_str(wr.status_changed_time);
  w.u64(wr.task_groups.size());
  for (const auto& g : wr.task_groups) {
    w.opt_str(g.id);
    write_opt_enum(w, g.status);
    w.str(g.name);
    w.opt_str(g.tag);
    w.flag(g.run_specification.worker_tags.has_value());
    if (g.run_specification.worker_tags) write_strings(w, *g.run_specification.worker_tags);
  }
}

yd::WorkRequirement read_work_requirement(ByteReader& r) {
  yd::WorkRequirement wr;
  wr.id = r.opt_str();
  wr.status = read_opt_enum<yd::WorkRequirementStatus>(r);
  wr.namespace_ = r.str();
  wr.name = r.str();
  wr.created_time = r.opt_str();
  wr.status_changed_time = r.opt_str();
  wr.task_groups.resize(r.count());
  for (auto& g : wr.task_groups) {
    g.id = r.opt_str();
    g.status = read_opt_enum<yd::TaskGroupStatus>(r);
    g.name = r.str();
    g.tag = r.opt_str();
    if (r.flag()) g.run_specification.worker_tags = read_strings(r);
  }
  return wr;
}

}  // namespace

void write_pool(ByteWriter& w, const PoolRecord& p) {
  w.str(p.id);
  w.str(p.status);
  w.str(p.compute_requirement_id);
  w.flag(p.provisioned);
  w.opt_str(p.name);
  w.opt_str(p.namespace_);
  w.opt_str(p.created_time);
  w.opt_str(p.worker_tag);
  w.opt_i64(p.max_nodes);
  w.opt_i64(p.running_nodes);
  write_cr(w, p.cr);
}

void write_cr(ByteWriter& w, const std::optional<PoolRecord::Cr>& cr) {
  w.flag(cr.has_value());
  if (!cr) return;
  w.str(cr->id);
  w.str(cr->status);
  w.opt_i64(cr->target_instance_count);
}

std::optional<PoolRecord::Cr> read_cr(ByteReader& r) {
  if (!r.flag()) return std::nullopt;
  PoolRecord::Cr cr;
  cr.id = r.str();
  cr.status = r.str();
  cr.target_instance_count = r.opt_i64();
  return cr;
}

PoolRecord read_pool(ByteReader& r) {
  PoolRecord p;
  p.id = r.str();
  p.status = r.str();
  p.compute_requirement_id = r.str();
  p.provisioned = r.flag();
  p.name = r.opt_str();
  p.namespace_ = r.opt_str();
  p.created_time = r.opt_str();
  p.worker_tag = r.opt_str();
  p.max_nodes = r.opt_i64();
  p.running_nodes = r.opt_i64();
  p.cr = read_cr(r);
  return p;
}

PackedSnapshot::PackedSnapshot(const Snapshot& s)
    : read_at_(s.read_at), keeps_work_requirement_(s.work_requirement.has_value()) {
  ByteWriter w;
  w.i64(s.generation);
  w.i64(s.incarnation);
  w.u64(s.fingerprint);
  w.u64(s.tasks.size());
  for (const auto& [group, records] : s.tasks) {
    w.str(group);
    w.u64(records.size());
    for (const auto& t : records) write_task(w, t);
  }
  w.u64(s.pools.size());
  for (const auto& p : s.pools) write_pool(w, p);
  if (s.work_requirement) write_work_requirement(w, *s.work_requirement);
  packed_ = Gzipped::of(w.take());
}

std::optional<Snapshot> PackedSnapshot::unpack() const {
  const auto packed = packed_.inflate();
  if (!packed) return std::nullopt;
  ByteReader r(*packed);
  Snapshot s;
  s.read_at = read_at_;
  s.generation = r.i64();
  s.incarnation = static_cast<int>(r.i64());
  s.fingerprint = static_cast<std::size_t>(r.u64());
  for (std::size_t groups = r.count(); groups > 0 && r.ok(); --groups) {
    auto& records = s.tasks[r.str()];
    records.resize(r.count());
    for (auto& t : records) t = read_task(r);
  }
  s.pools.resize(r.count());
  for (auto& p : s.pools) p = read_pool(r);
  // The work requirement was packed when the snapshot had one, whether or not it is still offered.
  if (r.ok() && !r.at_end()) {
    auto wr = read_work_requirement(r);
    if (keeps_work_requirement_) s.work_requirement = std::move(wr);
  }
  if (!r.at_end()) return std::nullopt;
  return s;
}

}  // namespace raydog::reconcile

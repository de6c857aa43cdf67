#include "controller/reconcile/plan.hpp"

#include <algorithm>
#include <array>

#include "controller/reconcile/planner.hpp"

namespace raydog::reconcile {

namespace {

// The plan, in order. A gate stops the plan where its rule says so (README.md "Rules" numbers them);
// the converging steps always go on, so one plan creates in parallel whatever does not wait for another.
constexpr std::array kSteps{
    PlanStep{"deletion", deletion},
    PlanStep{"invalid spec", invalid_spec},
    PlanStep{"api URL not allowed", api_url_not_allowed},
    PlanStep{"credentials", credentials},
    PlanStep{"observe failed", observe_failed},
    PlanStep{"suspend or failed", suspend_or_failed},
    PlanStep{"finalizer", finalizer},
    PlanStep{"work requirement cancelling", wr_cancelling},
    PlanStep{"sources", sources},
    PlanStep{"incarnation", incarnation},
    PlanStep{"provision pools", provision_pools},
    PlanStep{"resize pools", resize_pools},
    PlanStep{"work requirement", work_requirement_and_groups},
    PlanStep{"observability task", observability_task},
    PlanStep{"head task", head_task},
    PlanStep{"worker tasks", worker_tasks},
    PlanStep{"obsolete groups", obsolete_groups},
    PlanStep{"obsolete pools", obsolete_pools},
    PlanStep{"finished pools' compute requirements", finished_pool_crs},
    PlanStep{"pacing", pacing},
};

}  // namespace

Flow pacing(Planner& p) {
  const auto& opt = p.o.options;
  Millis after = p.converging ? opt.requeue_converging : opt.requeue_steady;
  // Steady: wake up when a backoff ends. Converging while a backoff runs: the next poll when it ends, at
  // most a steady poll away.
  if (!p.converging && p.wake) after = std::min(after, *p.wake);
  if (p.converging && p.wake && *p.wake > after)
    after = std::max(after, std::min(*p.wake, opt.requeue_steady));
  // Waiting only for tasks to start: as fast as converging without a ChangeFeed; with one the reconciler
  // lets the feed's wake-up bring the next look (RequeueAfter::until_tasks_start).
  if (!p.converging && p.awaiting_start) {
    p.requeue(opt.requeue_converging, !p.wake);
    return Flow::kContinue;
  }
  p.requeue(after);
  return Flow::kContinue;
}

std::vector<std::string_view> plan_step_names() {
  std::vector<std::string_view> names;
  for (const auto& step : kSteps) names.push_back(step.name);
  return names;
}

Actions plan(const Observed& o, TimePoint now) {
  const View v = view(o, now);
  Planner p{o, v, now, {}, false, false, std::nullopt};
  for (const auto& step : kSteps)
    if (step.run(p) == Flow::kStop) break;
  return std::move(p.out);
}

}  // namespace raydog::reconcile

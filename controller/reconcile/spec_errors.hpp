#pragma once
// The spec's errors, computed once per reconcile. The reconciler calls record_spec_errors() right after
// decoding (an invalid spec makes no YellowDog call at all); plan and status read the recorded value
// through spec_errors(), which computes it only when nobody recorded it (tests that build Observed by
// hand and edit the spec between reconciles).
#include "api/field_error.hpp"
#include "controller/reconcile/observed.hpp"

namespace raydog::reconcile {

// observed.decode_errors (except paths under `status`: a status that does not decode is ours to rewrite,
// not the user's error), then api::validate's errors not about a field that already failed to decode.
// Non-empty -> Lifecycle::kInvalidSpec: no YellowDog call at all.
api::FieldErrors compute_spec_errors(const Observed& observed);

// observed.spec_errors when recorded, else compute_spec_errors(observed).
api::FieldErrors spec_errors(const Observed& observed);

// Computes the errors once into observed.spec_errors and returns them.
const api::FieldErrors& record_spec_errors(Observed& observed);

}  // namespace raydog::reconcile

#pragma once
// RayDogCluster v1alpha1, one declaration per field: JSON name, description (what `kubectl explain` and the
// field tables of api/README.md show), schema constraints and default, in spec_fields.hpp and
// status_fields.hpp; the resource and its metadata here. The member itself is declared in types.hpp; its
// validation rule (with the message users see) in validation.cpp. describe.hpp explains the protocol;
// api/README.md ("Extending") what adding a field takes.
#include "api/spec_fields.hpp"
#include "api/status_fields.hpp"

namespace raydog::api {

// The subset of metav1.ObjectMeta the operator uses. Not in the schema (the API server owns it) and decoded
// leniently: the API server adds fields (managedFields, ...) the operator does not model.
template <class V, Of<ObjectMeta> S>
void describe(V& v, S& s) {
  using namespace field;
  v.ignore_unknown_fields();
  v.field("name", s.name, "", omit_empty);
  v.field("namespace", s.namespace_name, "");
  v.field("uid", s.uid, "");
  v.field("generation", s.generation, "");
  v.field("resourceVersion", s.resource_version, "");
  v.field("creationTimestamp", s.creation_timestamp, "");
  v.field("deletionTimestamp", s.deletion_timestamp, "");
  v.field("labels", s.labels, "");
  v.field("annotations", s.annotations, "");
  v.field("finalizers", s.finalizers, "");
}

inline constexpr std::string_view kResourceDescription =
    "RayDogCluster is a Ray cluster on the YellowDog platform: a head node, an optional observability node "
    "and "
    "any number of worker pools, kept converged by raydog-operator.";

template <class V, Of<RayDogCluster> S>
void describe(V& v, S& s) {
  using namespace field;
  v.constant("apiVersion", kApiVersion,
             "APIVersion defines the versioned schema of this representation of an object.");
  v.constant("kind", kKind, "Kind is a string value representing the REST resource this object represents.");
  v.field("metadata", s.metadata, "", opaque);
  v.field("spec", s.spec, "Desired state of a Ray cluster on YellowDog.", required);
  v.field("status", s.status, "Observed state, written by the operator.");
}

}  // namespace raydog::api

-- Argo CD health check for raydog.io/RayDogCluster (see manifests/argocd/README.md).
-- Maps the operator's conditions (kstatus conventions) to Argo CD health.
local hs = {}
local function cond(t)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == t then return c end
    end
  end
  return nil
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready, stalled, synced = cond("Ready"), cond("Stalled"), cond("Synced")
local phase = obj.status.phase

if phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = (ready and ready.message) or "Cluster suspended"
  return hs
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end
if phase == "Failed" or phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = (ready and ready.message) or phase
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ray cluster ready"
  return hs
end
hs.status = "Progressing"
if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  hs.message = ready.message
elseif synced ~= nil and synced.status == "False" then
  hs.message = synced.message or "Reconcile failing"
else
  hs.message = "Ray cluster converging"
end
return hs

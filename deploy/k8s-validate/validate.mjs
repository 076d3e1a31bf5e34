// Reads the objects `kubectl kustomize` rendered (stdin) and validates each against its schema
// with the kubernetes-models validators (required fields, types, formats); fails on a kind it does
// not know. Usage: kubectl kustomize k8s/overlays/prod | node deploy/k8s-validate/validate.mjs prod
import { parseAllDocuments } from "yaml";
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const models = [ConfigMap, Namespace, Service, ServiceAccount, Deployment, PodDisruptionBudget,
  HorizontalPodAutoscaler, NetworkPolicy, PrometheusRule, ServiceMonitor];
const byKind = new Map(models.map((m) => [`${m.apiVersion}/${m.kind}`, m]));

const label = process.argv[2] ?? "stdin";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const errors = [];
let count = 0;
for (const doc of parseAllDocuments(input)) {
  const obj = doc.toJS();
  if (!obj) continue;
  const key = `${obj.apiVersion}/${obj.kind}`;
  const name = `${key} ${obj.metadata?.name}`;
  const Model = byKind.get(key);
  if (!Model) {
    errors.push(`${name}: no schema for this kind`);
    continue;
  }
  try {
    new Model(obj).validate();
    count++;
  } catch (e) {
    errors.push(`${name}: ${e.message}`);
  }
}
if (errors.length > 0) {
  console.error(`k8s-validate: ${label}: ${errors.length} invalid object(s)\n  ` + errors.join("\n  "));
  process.exit(1);
}
console.log(`k8s-validate: ${label}: ${count} objects valid`);

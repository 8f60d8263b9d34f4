#!/usr/bin/python3
"""Offline checks of deploy/ for test_deploy (python3-yaml only, no cluster).

Every Kubernetes manifest parses and names apiVersion, kind and
metadata.name; the CURVE key Secrets are mounted read-only with
defaultMode 0400 where the ConfigMap's key paths expect them; the
NetworkPolicy admits only worker pods to the backend port and labelled
clients to frontend and publisher; the systemd units load the secret keys
with LoadCredential= and reload with SIGHUP. Prints what failed; exit 1.
"""
import glob
import os
import sys

import yaml

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..")
DEPLOY = os.path.join(ROOT, "deploy")
failures = []
# YAML files that are not Kubernetes objects (values for a Helm chart)
FRAGMENTS = {"prometheus-adapter-rule.yaml"}


def check(cond, what):
    if not cond:
        failures.append(what)


def load_all():
    docs = {}
    paths = sorted(glob.glob(os.path.join(DEPLOY, "k8s", "*.yaml")) +
                   glob.glob(os.path.join(DEPLOY, "k8s", "*", "*.yaml")))
    check(paths, "no manifests in deploy/k8s")
    for path in paths:
        with open(path) as f:
            try:
                items = [d for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                failures.append("%s: %s" % (path, e))
                continue
        name = os.path.relpath(path, DEPLOY)
        if os.path.basename(path) in FRAGMENTS:
            continue    # parsed, but Helm values, not a manifest
        for d in items:
            check(isinstance(d, dict) and d.get("apiVersion") and
                  d.get("kind"), "%s: a document without apiVersion/kind"
                  % name)
            if not isinstance(d, dict):
                continue
            if d.get("kind") != "Kustomization":
                check((d.get("metadata") or {}).get("name"),
                      "%s: %s without metadata.name" % (name, d.get("kind")))
            docs[(d.get("kind"), (d.get("metadata") or {}).get("name"))] = d
    return docs


def pod_spec(docs, kind, name):
    d = docs.get((kind, name))
    check(d is not None, "%s/%s is missing" % (kind, name))
    return d["spec"]["template"]["spec"] if d else {"containers": [{}]}


def key_mounts(spec, want):
    """want: {secretName: mountPath}; each mounted read-only, 0400."""
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["name"]: m for c in spec["containers"]
              for m in c.get("volumeMounts", [])}
    for secret, path in want.items():
        vol = [v for v in vols.values()
               if (v.get("secret") or {}).get("secretName") == secret]
        check(len(vol) == 1, "no volume for Secret %s" % secret)
        if len(vol) != 1:
            continue
        check(vol[0]["secret"].get("defaultMode") == 0o400,
              "Secret %s: defaultMode is not 0400" % secret)
        m = mounts.get(vol[0]["name"])
        check(m and m.get("readOnly") is True and m["mountPath"] == path,
              "Secret %s: not mounted read-only at %s" % (secret, path))
    run = [m for m in mounts.values() if m["mountPath"] == "/run/excerpt"]
    check(run and (vols[run[0]["name"]].get("emptyDir") or {}).get(
        "medium") == "Memory", "no in-memory emptyDir at /run/excerpt")


def conf_of(docs, file):
    cm = docs.get(("ConfigMap", "excerpt-config"), {"data": {}})
    out = {}
    for line in cm["data"].get(file, "").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def check_k8s(docs):
    b = pod_spec(docs, "StatefulSet", "excerpt-broker")
    key_mounts(b, {"excerpt-broker-key": "/etc/excerpt-keys",
                   "excerpt-allow": "/etc/excerpt-allow"})
    w = pod_spec(docs, "Deployment", "excerpt-worker")
    key_mounts(w, {"excerpt-worker-key": "/etc/excerpt-keys"})
    bc, wc = conf_of(docs, "broker.conf"), conf_of(docs, "worker.conf")
    check(bc.get("key-file") == "/run/excerpt/broker.key",
          "broker.conf: key-file is not the entrypoint's copy")
    check(bc.get("allow") == "/etc/excerpt-allow",
          "broker.conf: allow is not the excerpt-allow mount")
    check(wc.get("key-file") == "/run/excerpt/worker.key",
          "worker.conf: key-file is not the entrypoint's copy")
    check(wc.get("broker-key-file") == "/etc/excerpt-keys/broker.pub",
          "worker.conf: broker-key-file is not in excerpt-worker-key")
    for spec in (b, w):
        env = {e["name"]: e.get("value") for c in spec["containers"]
               for e in c.get("env", [])}
        check(env.get("EXCERPT_KEYS_DIR") == "/etc/excerpt-keys",
              "a pod without EXCERPT_KEYS_DIR=/etc/excerpt-keys")

    np = docs.get(("NetworkPolicy", "excerpt-broker"))
    check(np is not None, "NetworkPolicy excerpt-broker is missing")
    if np:
        check(np["spec"]["policyTypes"] == ["Ingress"],
              "broker policy: policyTypes")
        by_port = {}
        for rule in np["spec"]["ingress"]:
            for p in rule.get("ports", []):
                by_port.setdefault(p["port"], []).extend(rule.get("from", []))
        check(set(by_port) == {"frontend", "backend", "publisher", "metrics"},
              "broker policy: ports %s" % sorted(by_port))
        check(by_port.get("backend") == [{"podSelector": {"matchLabels": {
            "app.kubernetes.io/name": "excerpt-worker"}}}],
            "broker policy: backend is not for worker pods only")
        for port in ("frontend", "publisher"):
            check(by_port.get(port) == [{"podSelector": {"matchLabels": {
                "excerpt-client": "true"}}}],
                "broker policy: %s is not for labelled clients only" % port)
        check(by_port.get("metrics") and all(
            "namespaceSelector" in f for f in by_port["metrics"]),
            "broker policy: metrics not limited to namespaces")
    kz = docs.get(("Kustomization", None))
    check(kz and "networkpolicy.yaml" in kz.get("resources", []),
          "kustomization.yaml does not include networkpolicy.yaml")


def check_systemd():
    for unit, key in (("excerpt-broker.service", "broker.key"),
                      ("excerpt-worker@.service", "worker.key")):
        text = open(os.path.join(DEPLOY, "systemd", unit)).read()
        check("LoadCredential=%s:/etc/excerpt/keys/%s" % (key, key) in text,
              "%s: no LoadCredential= for %s" % (unit, key))
        check("_KEY_FILE=%%d/%s" % key in text,
              "%s: the key file is not the credential" % unit)
    text = open(os.path.join(DEPLOY, "systemd", "excerpt-broker.service")).read()
    check("ExecReload=/bin/kill -HUP $MAINPID" in text,
          "excerpt-broker.service: no ExecReload with SIGHUP")


def main():
    docs = load_all()
    check_k8s(docs)
    check_systemd()
    for f in failures:
        print("check_deploy: %s" % f, file=sys.stderr)
    if not failures:
        print("check_deploy: ok (%d manifests)" % len(docs))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Validates deploy/ and the Dockerfile against each other, without a cluster.

Checks that every manifest parses and has its required fields, that probes
point at the health-only port, that ports, image, user and the exit timeout
agree between the Dockerfile, the ConfigMap and the Deployment, and that the
kustomize overlays resolve. Where kubectl is installed, base and each overlay
are also rendered as Kubernetes would (`kubectl kustomize`) and the rendered
objects checked: the image each names is the one its recipe builds (CMake's
project version; `-cuda` from Dockerfile.cuda), the GPU overlay asks for GPUs
and GPU nodes and runs on CUDA, the others ask for none. `--self-test` also
breaks copies on purpose and requires the validation to fail.
"""
import copy
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")


def load_all():
    docs = {}
    for dirpath, _, files in os.walk(DEPLOY):
        for name in sorted(files):
            if not name.endswith(".yaml"):
                continue
            path = os.path.join(dirpath, name)
            with open(path) as f:
                docs[os.path.relpath(path, DEPLOY)] = [d for d in yaml.safe_load_all(f) if d]
    return docs


def dockerfile_facts(name="Dockerfile"):
    text = open(os.path.join(ROOT, name)).read()
    expose = set()
    for line in re.findall(r"^EXPOSE (.+)$", text, re.M):
        expose.update(int(p) for p in line.split())
    user = re.findall(r"^USER (\d+)$", text, re.M)
    health = re.search(r'--server=127\.0\.0\.1:(\d+)', text)
    return {"expose": expose, "user": int(user[-1]) if user else None,
            "healthcheck_port": int(health.group(1)) if health else None}


def recipe_facts():
    """The image tags the recipes build, from CMake's project version."""
    cmake = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    version = re.search(r"project\(wave_init VERSION ([0-9.]+)", cmake).group(1)
    cuda_recipe = os.path.join(ROOT, "Dockerfile.cuda")
    cuda_tag = None
    if os.path.exists(cuda_recipe):
        found = re.search(r"-t (wave-init:\S+)", open(cuda_recipe).read())
        cuda_tag = found.group(1) if found else None
    return {"cpu_image": f"wave-init:{version}", "cuda_image": f"wave-init:{version}-cuda",
            "cuda_recipe_tag": cuda_tag,
            "cuda_facts": dockerfile_facts("Dockerfile.cuda") if cuda_tag else None}


def render(target):
    """The objects `kubectl kustomize deploy/<target>` renders; None without kubectl."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return None
    out = subprocess.run([kubectl, "kustomize", os.path.join(DEPLOY, target)],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {target}: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def validate_rendered(target, objects, recipe):
    errors = []
    deployments = [o for o in objects if o.get("kind") == "Deployment"]
    if len(deployments) != 1:
        return [f"{target}: renders {len(deployments)} Deployments, not 1"]
    pod = deployments[0]["spec"]["template"]
    spec = pod["spec"]
    container = spec["containers"][0]
    maps = {o["metadata"]["name"]: o.get("data", {})
            for o in objects if o.get("kind") == "ConfigMap"}
    config = {}
    for ref in container.get("envFrom", []):
        name = ref.get("configMapRef", {}).get("name")
        if name not in maps:
            errors.append(f"{target}: envFrom names ConfigMap {name}, which it does not render")
        else:
            config.update(maps[name])
    for svc in (o for o in objects if o.get("kind") == "Service"):
        if svc["spec"].get("selector") != pod["metadata"]["labels"]:
            errors.append(f"{target}: Service {svc['metadata']['name']} selects no pod")
    res = container.get("resources", {})
    gpus = {k: res.get(k, {}).get("nvidia.com/gpu") for k in ("requests", "limits")}
    image = container.get("image")
    if target == "overlays/gpu":
        if image != recipe["cuda_image"]:
            errors.append(f"{target}: image {image} is not {recipe['cuda_image']}")
        if recipe["cuda_recipe_tag"] != recipe["cuda_image"]:
            errors.append(f"{target}: Dockerfile.cuda builds {recipe['cuda_recipe_tag']}, "
                          f"not {recipe['cuda_image']}")
        if recipe["cuda_facts"] != dockerfile_facts():
            errors.append(f"{target}: Dockerfile.cuda's ports, user or health check differ "
                          f"from Dockerfile's: {recipe['cuda_facts']}")
        if not gpus["limits"] or gpus["limits"] != gpus["requests"]:
            errors.append(f"{target}: nvidia.com/gpu requests {gpus['requests']} and limits "
                          f"{gpus['limits']} must be set and equal")
        if spec.get("nodeSelector", {}).get("nvidia.com/gpu.present") != "true":
            errors.append(f"{target}: no nodeSelector for GPU nodes")
        if not any(t.get("key") == "nvidia.com/gpu" for t in spec.get("tolerations", [])):
            errors.append(f"{target}: no toleration for GPU nodes' taint")
        if config.get("WAVE_DEVICE") != "cuda":
            errors.append(f"{target}: WAVE_DEVICE is {config.get('WAVE_DEVICE')}, not cuda")
    else:
        if image != recipe["cpu_image"]:
            errors.append(f"{target}: image {image} is not {recipe['cpu_image']}")
        if gpus["limits"] or gpus["requests"]:
            errors.append(f"{target}: asks for GPUs")
        if config.get("WAVE_DEVICE") not in ("cpu", "auto"):
            errors.append(f"{target}: WAVE_DEVICE is {config.get('WAVE_DEVICE')}")
    errors += validate_cache_volume(target, objects, spec, container, config)
    needs_crd = sorted({o["kind"] for o in objects
                        if o["apiVersion"].split("/")[0] not in BUILT_IN_GROUPS})
    if needs_crd and target != "overlays/prometheus-operator":
        errors.append(f"{target}: renders {needs_crd}, which a cluster without their "
                      "operator refuses: keep them in an overlay")
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    for volume in spec.get("volumes", []):
        if "secret" in volume and not volume["secret"].get("optional"):
            errors.append(f"{target}: Secret volume {volume['name']} is mandatory; it must be "
                          "optional (TLS and tokens are the operator's choice)")
    token_file = config.get("WAVE_AUTH_TOKEN_FILE", "")
    if token_file and not any(token_file.startswith(p + "/") for p in mounts.values()):
        errors.append(f"{target}: WAVE_AUTH_TOKEN_FILE {token_file} is on no volume mount")
    return errors


def validate_cache_volume(target, objects, spec, container, config):
    """WAVE_CACHE_DIR, where set, is a writable mount of a claim every pod can share."""
    cache_dir = config.get("WAVE_CACHE_DIR")
    if not cache_dir:
        return []
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    mount = mounts.get(cache_dir)
    if mount is None or mount.get("readOnly"):
        return [f"{target}: WAVE_CACHE_DIR {cache_dir} is not a writable volume mount"]
    volume = next((v for v in spec.get("volumes", []) if v["name"] == mount["name"]), {})
    claim = volume.get("persistentVolumeClaim", {}).get("claimName")
    claims = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "PersistentVolumeClaim"}
    if claim not in claims:
        return [f"{target}: the cache volume is not a claim this target renders"]
    if "ReadWriteMany" not in claims[claim]["spec"].get("accessModes", []):
        return [f"{target}: the cache claim {claim} is not ReadWriteMany: replicas cannot share it"]
    return []


RENDER_TARGETS = ("base", "overlays/cpu", "overlays/gpu", "overlays/shared-cache",
                  "overlays/prometheus-operator")
# API groups every Kubernetes cluster serves; anything else needs a CRD.
BUILT_IN_GROUPS = {"v1", "apps", "autoscaling", "policy", "batch", "networking.k8s.io"}


def by_kind(docs, kind):
    return [d for ds in docs.values() for d in ds if d.get("kind") == kind]


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def validate_learn(docs, facts):
    """deploy/learn: an Indexed Job whose pods find rank 0 through a headless
    Service, with the variables wave-learn's rendezvous reads."""
    learn = {p: ds for p, ds in docs.items() if p.startswith("learn/")}
    jobs, services = by_kind(learn, "Job"), by_kind(learn, "Service")
    if len(jobs) != 1 or len(services) != 1:
        return [f"learn/: expected one Job and one Service, found {len(jobs)} and {len(services)}"]
    job, svc = jobs[0], services[0]
    errors = []
    spec = job["spec"]
    pod = spec["template"]
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    command = " ".join(container.get("command", []) + container.get("args", []))
    if spec.get("completionMode") != "Indexed":
        errors.append("learn Job is not Indexed: ranks need completion indexes")
    if not spec.get("completions") or spec.get("parallelism") != spec.get("completions"):
        errors.append("learn Job: parallelism must equal completions (every rank at once)")
    if env.get("WORLD_SIZE") != str(spec.get("completions")):
        errors.append(f"learn Job: WORLD_SIZE {env.get('WORLD_SIZE')} != completions "
                      f"{spec.get('completions')}")
    if "RANK=$JOB_COMPLETION_INDEX" not in command or "wave-learn" not in command:
        errors.append("learn Job: RANK must come from JOB_COMPLETION_INDEX, running wave-learn")
    if svc["spec"].get("clusterIP") != "None":
        errors.append("learn Service is not headless")
    if pod["spec"].get("subdomain") != svc["metadata"]["name"]:
        errors.append("learn pods' subdomain is not the headless Service")
    if svc["spec"].get("selector", {}).items() - pod["metadata"]["labels"].items():
        errors.append("learn Service selector does not match the pods")
    expected_master = f"{job['metadata']['name']}-0.{svc['metadata']['name']}"
    if env.get("MASTER_ADDR") != expected_master:
        errors.append(f"learn Job: MASTER_ADDR {env.get('MASTER_ADDR')} is not rank 0's name "
                      f"{expected_master}")
    ports = {p["containerPort"] for p in container.get("ports", [])}
    if not env.get("MASTER_PORT") or int(env["MASTER_PORT"]) not in ports:
        errors.append("learn Job: MASTER_PORT is not a container port")
    if pod["spec"].get("securityContext", {}).get("runAsUser") != facts["user"]:
        errors.append("learn Job: runAsUser does not match the Dockerfile's USER")
    mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
    work = re.search(r"--work_dir=(\S+)", command)
    if not work or not any(work.group(1).startswith(m) for m in mounts):
        errors.append("learn Job: --work_dir is not on a volume (checkpoints must survive)")
    if not re.match(r"^wave-init:", container.get("image", "")):
        errors.append("learn Job: image is not wave-init")
    return errors


def validate(docs, facts):
    errors = validate_learn(docs, facts)
    docs = {p: ds for p, ds in docs.items() if not p.startswith("learn/")}
    for path, ds in docs.items():
        for d in ds:
            if "kustomization" in path:
                continue
            if path.startswith("prometheus/"):
                if "scrape_configs" not in d or "metrics" not in str(d):
                    errors.append(f"{path}: no scrape config for the metrics port")
                continue
            for field in ("apiVersion", "kind", "metadata"):
                if field not in d:
                    errors.append(f"{path}: missing {field}")
            if "metadata" in d and not d["metadata"].get("name"):
                errors.append(f"{path}: metadata.name missing")
    deployments = by_kind(docs, "Deployment")
    base = [d for d in deployments if d.get("spec", {}).get("selector")]
    if len(base) != 1:
        return errors + [f"expected one base Deployment, found {len(base)}"]
    dep = base[0]
    config = {}
    for cm in by_kind(docs, "ConfigMap"):
        config.update(cm.get("data", {}))
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    if dep["spec"]["selector"]["matchLabels"] != labels:
        errors.append("Deployment selector does not match its pod labels")
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    for name in ("grpc", "probe", "metrics"):
        if name not in ports:
            errors.append(f"container lacks port '{name}'")
    if set(ports.values()) != facts["expose"]:
        errors.append(f"container ports {sorted(ports.values())} != Dockerfile EXPOSE "
                      f"{sorted(facts['expose'])}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = container.get(probe)
        if not p or "grpc" not in p:
            errors.append(f"{probe} is not a native gRPC probe")
        elif p["grpc"].get("port") != ports.get("probe"):
            errors.append(f"{probe} port {p['grpc'].get('port')} is not the probe port "
                          f"{ports.get('probe')}")
    if facts["healthcheck_port"] != ports.get("probe"):
        errors.append("Dockerfile HEALTHCHECK does not use the probe port")
    if not re.match(r"^wave-init:", container.get("image", "")):
        errors.append("container image is not wave-init")
    res = container.get("resources", {})
    if not res.get("requests") or not res.get("limits"):
        errors.append("container lacks resource requests and limits")
    if pod["spec"].get("securityContext", {}).get("runAsUser") != facts["user"]:
        errors.append("runAsUser does not match the Dockerfile's USER")
    if port_of(config.get("WAVE_ADDRESS", ":0")) != ports.get("grpc"):
        errors.append("WAVE_ADDRESS port != grpc containerPort")
    if port_of(config.get("WAVE_PROBE_ADDRESS", ":0")) != ports.get("probe"):
        errors.append("WAVE_PROBE_ADDRESS port != probe containerPort")
    if int(config.get("WAVE_METRICS_PORT", 0)) != ports.get("metrics"):
        errors.append("WAVE_METRICS_PORT != metrics containerPort")
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    if float(config.get("WAVE_EXIT_TIMEOUT", 1e9)) >= grace:
        errors.append(f"WAVE_EXIT_TIMEOUT must be below terminationGracePeriodSeconds {grace}")
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    for v in pod["spec"].get("volumes", []):
        if "secret" in v and not mounts.get(v["name"], {}).get("readOnly"):
            errors.append(f"secret volume {v['name']} not mounted read-only")
    for svc in by_kind(docs, "Service"):
        if svc["spec"].get("selector") != labels:
            errors.append(f"Service {svc['metadata']['name']} selector != pod labels")
        for p in svc["spec"]["ports"]:
            if p.get("targetPort") not in ports:
                errors.append(f"Service {svc['metadata']['name']} targets unknown port "
                              f"{p.get('targetPort')}")
    if not any(s["spec"].get("clusterIP") == "None" for s in by_kind(docs, "Service")):
        errors.append("no headless Service")
    for hpa in by_kind(docs, "HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] != dep["metadata"]["name"]:
            errors.append("HPA does not target the Deployment")
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        if pdb["spec"]["selector"]["matchLabels"] != labels:
            errors.append("PDB selector != pod labels")
    for sm in by_kind(docs, "ServiceMonitor"):
        if sm["spec"]["endpoints"][0]["port"] != "metrics":
            errors.append("ServiceMonitor does not scrape the metrics port")
    for path, ds in docs.items():
        if not path.endswith("kustomization.yaml"):
            continue
        here = os.path.dirname(os.path.join(DEPLOY, path))
        for d in ds:
            for r in d.get("resources", []):
                if not os.path.exists(os.path.join(here, r)):
                    errors.append(f"{path}: resource {r} does not exist")
            for p in d.get("patches", []):
                if not os.path.exists(os.path.join(here, p["path"])):
                    errors.append(f"{path}: patch {p['path']} does not exist")
    gpu = [d for d in deployments if d is not dep]
    if not any("nvidia.com/gpu" in str(d) for d in gpu):
        errors.append("the GPU overlay requests no nvidia.com/gpu")
    return errors


def main():
    docs, facts = load_all(), dockerfile_facts()
    errors = validate(docs, facts)
    for e in errors:
        print("ERROR:", e)
    if errors:
        return 1
    count = sum(len(ds) for ds in docs.values())
    print(f"{count} manifests in {len(docs)} files valid; ports {sorted(facts['expose'])}")
    recipe = recipe_facts()
    rendered = {}
    for target in RENDER_TARGETS:
        objects = render(target)
        if objects is None:
            print("rendering skipped: no kubectl on this machine")
            break
        rendered[target] = objects
        errors += validate_rendered(target, objects, recipe)
    for e in errors:
        print("ERROR:", e)
    if errors:
        return 1
    learn = render("learn") if rendered else None
    if learn is not None:
        errors += [f"rendered {e}" for e in validate_learn({"learn/rendered": learn}, facts)]
    for e in errors:
        print("ERROR:", e)
    if errors:
        return 1
    for target, objects in rendered.items():
        print(f"{target}: {len(objects)} objects rendered by kubectl kustomize, valid")
    if learn is not None:
        print(f"learn: {len(learn)} objects rendered by kubectl kustomize, valid")
    if "--self-test" in sys.argv:
        broken = copy.deepcopy(docs)
        dep = [d for d in broken["base/deployment.yaml"] if d["kind"] == "Deployment"][0]
        dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = 50051
        if not any("readinessProbe port" in e for e in validate(broken, facts)):
            print("ERROR: self-test: a probe on the wrong port went unnoticed")
            return 1
        print("self-test: a probe on the wrong port is caught")
        broken = copy.deepcopy(docs)
        job = [d for d in broken["learn/job.yaml"] if d["kind"] == "Job"][0]
        job["spec"]["completions"] = 3
        if not any("WORLD_SIZE" in e for e in validate_learn(broken, facts)):
            print("ERROR: self-test: a learn Job whose WORLD_SIZE is not its size went unnoticed")
            return 1
        print("self-test: a learn Job with WORLD_SIZE != completions is caught")
        if "overlays/gpu" in rendered:
            broken = copy.deepcopy(rendered["overlays/gpu"])
            dep = [d for d in broken if d["kind"] == "Deployment"][0]
            container = dep["spec"]["template"]["spec"]["containers"][0]
            del container["resources"]["limits"]["nvidia.com/gpu"]
            container["image"] = recipe["cpu_image"]
            found = validate_rendered("overlays/gpu", broken, recipe)
            if len(found) < 2:
                print(f"ERROR: self-test: a GPU overlay without GPUs went unnoticed: {found}")
                return 1
            print("self-test: a rendered GPU overlay without its GPU or CUDA image is caught")
        if "overlays/cpu" in rendered:
            broken = copy.deepcopy(rendered["overlays/cpu"])
            dep = [d for d in broken if d["kind"] == "Deployment"][0]
            for volume in dep["spec"]["template"]["spec"]["volumes"]:
                volume.get("secret", {}).pop("optional", None)
            broken += [o for o in rendered["overlays/prometheus-operator"]
                       if o["kind"] == "ServiceMonitor"]
            found = validate_rendered("overlays/cpu", broken, recipe)
            if not (any("mandatory" in e for e in found) and any("CRD" in e or "operator" in e
                                                                  for e in found)):
                print(f"ERROR: self-test: mandatory Secrets or a ServiceMonitor in the cpu "
                      f"overlay went unnoticed: {found}")
                return 1
            print("self-test: mandatory Secrets and an operator's object in a plain overlay "
                  "are caught")
        if "overlays/shared-cache" in rendered:
            broken = copy.deepcopy(rendered["overlays/shared-cache"])
            dep = [d for d in broken if d["kind"] == "Deployment"][0]
            container = dep["spec"]["template"]["spec"]["containers"][0]
            container["volumeMounts"] = [m for m in container["volumeMounts"]
                                         if m["name"] != "result-cache"]
            if not any("WAVE_CACHE_DIR" in e for e in
                       validate_rendered("overlays/shared-cache", broken, recipe)):
                print("ERROR: self-test: a cache directory without its volume went unnoticed")
                return 1
            print("self-test: a shared-cache overlay without its volume mount is caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())

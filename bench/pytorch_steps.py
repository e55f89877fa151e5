#!/usr/bin/env python3
"""The book's four training steps in PyTorch, timed as kd_bench times ours (`./run bench --pytorch`).

    pytorch_steps.py --threads N --out FILE.json      time PyTorch's steps, write their medians
    pytorch_steps.py --compare OURS.json... TORCH.json...  the table: ours against PyTorch's

Each step does what its kd_bench twin does, on random data of the same shapes, batch 128:

    BM_SmallStudentStep  784-100-10 MLP, distillation loss (T = 2, alpha = 0.5) against fixed
                         teacher logits, SGD with momentum 0.9
    BM_DistillStep       784-800-800-10 MLP, the same loss at T = 4, SGD with momentum
    BM_MlpTrainStep      784-1200-1200-10 MLP, cross-entropy, SGD with momentum
    BM_TeacherTrainStep  the ch02 teacher: conv 3x3 1-32, BatchNorm, max-pool 2, ReLU, conv 3x3
                         32-64, BatchNorm, max-pool 2, ReLU, 3136-256, ReLU, dropout 0.3, 256-10;
                         training mode, half the batch flipped left-right, cross-entropy, Adam

A step's time is the mean over the steps of one repetition (about a second of them, after a
warm-up), and the median over three repetitions, as `kd_bench --benchmark_repetitions=3` reports.
"""
import argparse
import json
import statistics
import sys
import time

kBatch = 128
kSteps = ["BM_SmallStudentStep", "BM_DistillStep", "BM_MlpTrainStep", "BM_TeacherTrainStep"]


def mlp(torch, widths):
    layers = []
    for i in range(len(widths) - 1):
        if i > 0:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
    return torch.nn.Sequential(*layers)


def distillation_loss(torch, logits, teacher, labels, temperature, alpha):
    F = torch.nn.functional
    soft = F.kl_div(F.log_softmax(logits / temperature, dim=1), F.softmax(teacher / temperature, dim=1),
                    reduction="batchmean")
    return alpha * temperature * temperature * soft + (1 - alpha) * F.cross_entropy(logits, labels)


def make_steps(torch):
    """Each step as a function of nothing, its model and data made once."""
    F = torch.nn.functional
    torch.manual_seed(1)
    images = torch.rand(kBatch, 784)
    labels = torch.randint(0, 10, (kBatch,))
    teacher_logits = 5 * torch.randn(kBatch, 10)

    def distill(widths, temperature, lr):
        model = mlp(torch, widths)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

        def step():
            opt.zero_grad()
            distillation_loss(torch, model(images), teacher_logits, labels, temperature, 0.5).backward()
            opt.step()
        return step

    def mlp_step():
        model = mlp(torch, [784, 1200, 1200, 10])
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            F.cross_entropy(model(images), labels).backward()
            opt.step()
        return step

    def teacher_step():
        nn = torch.nn
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.MaxPool2d(2), nn.ReLU(),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10))
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        batch = torch.randn(kBatch, 1, 28, 28)

        def step():
            flip = torch.rand(kBatch) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
            opt.zero_grad()
            F.cross_entropy(model(x), labels).backward()
            opt.step()
        return step

    return {
        "BM_SmallStudentStep": distill([784, 100, 10], 2.0, 0.05),
        "BM_DistillStep": distill([784, 800, 800, 10], 4.0, 0.01),
        "BM_MlpTrainStep": mlp_step(),
        "BM_TeacherTrainStep": teacher_step(),
    }


def time_step(step, seconds=1.0, repetitions=3):
    """The median over repetitions of the mean step time (seconds) over about `seconds` of steps."""
    for _ in range(5):
        step()
    means = []
    for _ in range(repetitions):
        count, start = 0, time.perf_counter()
        while True:
            step()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        means.append(elapsed / count)
    return statistics.median(means)


def backend(torch, teacher_step):
    """What this PyTorch computes with: version, BLAS, the convolution's kernel (the aten op a
    profiled teacher step ran), threads."""
    config = torch.__config__.show()
    blas = config.split("BLAS_INFO=", 1)[1].split(",", 1)[0] if "BLAS_INFO=" in config else "unknown"
    with torch.autograd.profiler.profile() as profile:
        teacher_step()
    names = {e.name for e in profile.function_events}
    convolution = sorted(n for n in names if "conv" in n and n not in ("aten::conv2d", "aten::convolution",
                                                                       "aten::_convolution"))
    return {"version": torch.__version__, "blas": blas, "mkldnn": torch.backends.mkldnn.is_available(),
            "convolution": convolution, "threads": torch.get_num_threads()}


def measure(args):
    import torch
    torch.set_num_threads(args.threads)
    steps = make_steps(torch)
    result = {"pytorch": backend(torch, steps["BM_TeacherTrainStep"]), "steps_us": {}}
    for name in kSteps:
        result["steps_us"][name] = time_step(steps[name]) * 1e6
        print(f"pytorch {name:<22} {result['steps_us'][name]:10.0f} us", flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


def ours(path):
    """Step name -> median real time (us) from one kd_bench --benchmark_out JSON."""
    with open(path) as f:
        data = json.load(f)
    unit = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
    times = {}
    for b in data["benchmarks"]:
        name = b["run_name"].split("/")[0]  # BM_TeacherTrainStep/real_time
        if b.get("aggregate_name") == "median" and name in kSteps:
            times[name] = b["real_time"] * unit[b["time_unit"]]
    return times, data.get("context", {})


def compare(args):
    ours_runs = [ours(p) for p in args.compare if "benchmarks" in json.load(open(p))]
    torch_runs = [json.load(open(p)) for p in args.compare if "steps_us" in json.load(open(p))]
    if not ours_runs or not torch_runs:
        sys.exit("pytorch_steps.py --compare: needs kd_bench JSON files and pytorch_steps.py JSON files")
    context = ours_runs[0][1]
    info = torch_runs[0]["pytorch"]
    print(f"ours: {context.get('threads', '?')} threads, {context.get('blas', '?')}; "
          f"PyTorch {info['version']} (BLAS {info['blas']}, oneDNN {'on' if info['mkldnn'] else 'off'}, "
          f"convolution by {', '.join(info['convolution'])}), "
          f"{info['threads']} threads")
    print(f"{'step':<22} {'ours (us)':>22} {'PyTorch (us)':>22} {'PyTorch / ours':>15}")
    for name in kSteps:
        mine = [t[name] for t, _ in ours_runs if name in t]
        theirs = [r["steps_us"][name] for r in torch_runs if name in r["steps_us"]]
        if not mine or not theirs:
            continue
        span = lambda xs: f"{min(xs):,.0f}-{max(xs):,.0f}" if len(xs) > 1 else f"{xs[0]:,.0f}"
        ratio = statistics.median(theirs) / statistics.median(mine)
        print(f"{name:<22} {span(mine):>22} {span(theirs):>22} {ratio:>14.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (kd_bench's --threads)")
    parser.add_argument("--out", help="where to write PyTorch's medians (JSON)")
    parser.add_argument("--compare", nargs="+", help="kd_bench and pytorch_steps.py JSON files: print the table")
    args = parser.parse_args()
    if args.compare:
        compare(args)
    elif args.out:
        measure(args)
    else:
        parser.error("give --out FILE or --compare FILES")


if __name__ == "__main__":
    main()

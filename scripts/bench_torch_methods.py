"""Paired timing of the plain solver step vs EWC and SI steps as GMvandeVen/continual-learning
writes them (penalties inside autograd; SI's W update + p_old clone after optimizer.step()).
MLP 784-400-400-10, batch 256 (128 real + 128 replayed rows), Adam, 2 threads."""
import sys, time, statistics, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0); torch.set_num_threads(2)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
def mlp():
    return nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
x = torch.rand(256, 784); y = torch.randint(0, 10, (256,))
nets = {k: mlp() for k in ['plain', 'ewc', 'si']}
opts = {k: torch.optim.Adam(n.parameters(), lr=1e-3, betas=(0.9, 0.999)) for k, n in nets.items()}
fisher = {n: torch.rand_like(p) for n, p in nets['ewc'].named_parameters()}
mean = {n: p.detach().clone() for n, p in nets['ewc'].named_parameters()}
omega = {n: torch.rand_like(p) for n, p in nets['si'].named_parameters()}
prev = {n: p.detach().clone() for n, p in nets['si'].named_parameters()}
W = {n: torch.zeros_like(p) for n, p in nets['si'].named_parameters()}
p_old = {n: p.detach().clone() for n, p in nets['si'].named_parameters()}
def plain():
    net, opt = nets['plain'], opts['plain']
    opt.zero_grad(); loss = F.cross_entropy(net(x), y); loss.backward(); opt.step()
def ewc():
    net, opt = nets['ewc'], opts['ewc']
    opt.zero_grad(); loss = F.cross_entropy(net(x), y)
    pen = sum((fisher[n] * (p - mean[n]) ** 2).sum() for n, p in net.named_parameters())
    (loss + 5000 * 0.5 * pen).backward(); opt.step()
def si():
    net, opt = nets['si'], opts['si']
    opt.zero_grad(); loss = F.cross_entropy(net(x), y)
    pen = sum((omega[n] * (p - prev[n]) ** 2).sum() for n, p in net.named_parameters())
    (loss + 0.1 * pen).backward(); opt.step()
    for n, p in net.named_parameters():
        W[n].add_(-p.grad * (p.detach() - p_old[n])); p_old[n] = p.detach().clone()
variants = [('plain solver step', plain), ('EWC step', ewc), ('SI step', si)]
times = [[] for _ in variants]
with torch.no_grad(): pass
for r in range(rounds + 5):
    for i, (_, f) in enumerate(variants):
        t = time.perf_counter(); f(); dt = (time.perf_counter() - t) * 1000
        if r >= 5: times[i].append(dt)
for i, (name, _) in enumerate(variants):
    ratio = statistics.median([a / b for a, b in zip(times[i], times[0])])
    print(f'{name:20s} {statistics.median(times[i]):6.2f} ms  x{ratio:.3f}')
print('torch', torch.__version__)

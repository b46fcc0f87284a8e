"""cvlib.train.loop: fit, evaluate and accuracy."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvlib.train import History, accuracy, evaluate, fit
from cvlib.train.loop import OPTIMIZERS, Step


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is faster, and avoids contention on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blobs(n=120, seed=0):
    """Three well-separated Gaussian blobs in 2-D: a linearly separable toy problem."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    y = torch.arange(n) % 3
    return centres[y] + 0.5 * torch.randn(n, 2, generator=g), y


def mlp(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))


def weights(model):
    return [t.clone() for t in model.state_dict().values()]


# accuracy ---------------------------------------------------------------------------------------------

def test_accuracy_against_a_hand_count():
    scores = torch.tensor([[0.9, 0.1, 0.0],    # predicts 0, target 0: right
                           [0.2, 0.7, 0.1],    # predicts 1, target 2: wrong
                           [0.1, 0.2, 0.7],    # predicts 2, target 2: right
                           [0.5, 0.5, 0.0]])   # a tie goes to the lowest index, 0; target 1: wrong
    targets = torch.tensor([0, 2, 2, 1])
    assert accuracy(scores, targets) == 2 / 4
    # the smallest score as the prediction (penalties): rows predict 2, 2, 0, 2
    assert accuracy(scores, targets, largest=False) == 1 / 4


def test_accuracy_takes_numpy_arrays():
    scores = np.array([[1.0, 2.0], [3.0, 0.0], [0.0, 1.0]])
    assert accuracy(scores, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert type(accuracy(scores, np.array([1, 0, 0]))) is float


@pytest.mark.parametrize("scores,targets,match", [
    (torch.zeros(4), torch.zeros(4, dtype=torch.long), r"scores must be a tensor of shape \(N, C\)"),
    (torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long), r"targets must be a tensor of shape \(N\)"),
    (torch.zeros(4, 3), torch.zeros(3, dtype=torch.long), "same number of rows"),
    (torch.zeros(4, 3), torch.zeros(4), "integer class indices"),
    (torch.zeros(4, 3), torch.tensor([0, 1, 2, 3]), r"class indices in \[0, 3\)"),
    (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), "empty"),
    ([[1.0, 0.0]], torch.zeros(1, dtype=torch.long), "scores must be a tensor"),
])
def test_accuracy_rejects(scores, targets, match):
    with pytest.raises(ValueError, match=match):
        accuracy(scores, targets)


# evaluate ---------------------------------------------------------------------------------------------

def test_evaluate_is_the_loss_and_accuracy_of_the_whole_set():
    x, y = blobs()
    model = mlp()
    with torch.no_grad():
        out = model(x)
    result = evaluate(model, (x, y))
    assert result.loss == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-6)
    assert result.accuracy == accuracy(out, y)
    batched = evaluate(model, (x, y), batch_size=7)  # 120 = 17·7 + 1: unequal batches, weighted by size
    assert batched.loss == pytest.approx(result.loss, rel=1e-6) and batched.accuracy == result.accuracy


def test_evaluate_runs_in_eval_mode_and_restores_the_mode():
    x, y = blobs()
    model = mlp(dropout=0.5).train()
    first, second = evaluate(model, (x, y)), evaluate(model, (x, y))
    assert first == second  # dropout off: the same numbers twice
    assert model.training
    assert not evaluate(model.eval(), (x, y)) != first and not model.training


def test_evaluate_without_class_targets_gives_nan_accuracy():
    x = torch.randn(10, 2)
    model = nn.Linear(2, 1)
    result = evaluate(model, (x, torch.zeros(10, 1)), loss=F.mse_loss)
    assert math.isnan(result.accuracy) and result.loss >= 0


# fit: what it computes --------------------------------------------------------------------------------

def test_fit_reduces_the_loss_on_a_separable_problem():
    x, y = blobs()
    model = mlp()
    before = evaluate(model, (x, y))
    history = fit(model, (x, y), epochs=30, lr=0.05, batch_size=16)
    after = evaluate(model, (x, y))
    assert after.loss < before.loss / 10 and after.accuracy == 1.0
    assert history.loss[-1] < history.loss[0] and history["accuracy"][-1] == 1.0
    assert not model.training  # left in eval mode


def test_same_seed_gives_identical_weights_and_other_seeds_do_not():
    x, y = blobs()
    runs = []
    for seed in (0, 0, 1):
        model = mlp(seed=3, dropout=0.3)  # dropout: the seed must cover the global generator too
        fit(model, (x, y), epochs=3, lr=0.01, batch_size=10, seed=seed)
        runs.append(weights(model))
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], runs[2]))


def test_fit_leaves_the_global_random_state_alone():
    x, y = blobs()
    model = mlp(dropout=0.3)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(model, (x, y), epochs=1, lr=0.01, batch_size=10)
    assert torch.equal(torch.rand(3), expected)


def test_fit_equals_the_loop_it_replaces():
    x, y = blobs()
    a, b = mlp(), mlp()
    opt = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(5)
    for _ in range(4):
        for idx in torch.randperm(len(x), generator=g).split(32):
            loss = F.cross_entropy(a(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    fit(b, (x, y), epochs=4, optimizer="sgd", lr=0.1, momentum=0.9, batch_size=32, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(weights(a), weights(b)))


def test_full_batch_without_shuffling_is_gradient_descent():
    x, y = blobs()
    a, b = mlp(), mlp()
    opt = torch.optim.SGD(a.parameters(), lr=0.1)
    for _ in range(5):
        loss = F.cross_entropy(a(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    history = fit(b, (x, y), epochs=5, optimizer="sgd", lr=0.1, shuffle=False)
    assert all(torch.equal(p, q) for p, q in zip(weights(a), weights(b)))
    assert history.steps == 5 and history.loss[-1] == pytest.approx(loss.item())


def test_history_records_losses_evaluations_and_metrics():
    x, y = blobs()
    model = mlp()
    history = fit(model, (x[:90], y[:90]), epochs=7, lr=0.05, batch_size=30, eval_every=3,
                  eval_data={"test": (x[90:], y[90:])}, metrics={"norm": lambda m: m[0].weight.norm().item()})
    assert isinstance(history, History) and history.epoch == [3, 6, 7]  # every third, and the last
    assert history.keys() == ["epoch", "loss", "accuracy", "test_loss", "test_accuracy", "norm"]
    assert history.steps == 21 and not history.stopped and history.seconds > 0
    assert history["test_accuracy"][-1] == evaluate(model, (x[90:], y[90:])).accuracy
    assert history["norm"][-1] == pytest.approx(model[0].weight.norm().item())
    with pytest.raises(KeyError, match="no column 'train_loss'"):
        history["train_loss"]


def test_several_targets_reach_the_loss():
    x, y = blobs()
    soft = F.one_hot(y, 3).float()
    seen = []

    def loss(output, labels, targets):
        seen.append((labels.shape, targets.shape))
        return F.cross_entropy(output, labels) + F.mse_loss(output.softmax(1), targets)

    fit(mlp(), (x, y, soft), epochs=1, lr=0.01, batch_size=50, loss=loss)
    assert seen[0] == ((50,), (50, 3)) and seen[-1] == ((20,), (20, 3))


def test_drop_last_max_steps_and_an_epoch_cut_short():
    x, y = blobs()
    history = fit(mlp(), (x, y), epochs=3, lr=0.01, batch_size=50, drop_last=True)
    assert history.steps == 6 and history.epoch == [1, 2, 3]
    history = fit(mlp(), (x, y), epochs=None, max_steps=7, lr=0.01, batch_size=50)
    assert history.steps == 7 and history.epoch == [1, 2]  # the third epoch is cut short: not recorded
    history = fit(mlp(), (x, y), epochs=None, max_steps=6, lr=0.01, batch_size=40)
    assert history.steps == 6 and history.epoch == [1, 2]  # ends with a complete epoch


def test_on_step_sees_every_step_and_can_stop_the_run():
    x, y = blobs()
    steps = []

    def on_step(s: Step):
        steps.append((s.epoch, s.step, s.output.shape, s.targets[0].shape, s.model.training))
        return s.step == 5

    history = fit(mlp(), (x, y), epochs=10, lr=0.01, batch_size=50, on_step=on_step)
    assert history.stopped and history.steps == 5 and history.epoch == [1]
    assert steps[0] == (1, 1, (50, 3), (50,), True) and steps[2][2] == (20, 3) and steps[-1][:2] == (2, 5)


def test_augment_gets_the_seeded_generator_and_schedule_the_step_count():
    x, y = blobs()
    draws, totals = [], []

    def augment(batch, generator):
        draws.append(torch.rand(1, generator=generator).item())
        return batch + 0.01 * torch.randn(batch.shape, generator=generator)

    def schedule(opt, total):
        totals.append(total)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / total)

    model = mlp()
    fit(model, (x, y), epochs=2, lr=0.01, batch_size=40, augment=augment, schedule=schedule)
    assert totals == [6] and len(draws) == 6
    first = list(draws)
    draws.clear()
    fit(mlp(), (x, y), epochs=2, lr=0.01, batch_size=40, augment=augment, schedule=schedule)
    assert draws == first


def test_a_ready_optimizer_keeps_its_state():
    x, y = blobs()
    model = mlp()
    opt = torch.optim.Adagrad(model.parameters(), lr=0.1)
    fit(model, (x, y), epochs=1, optimizer=opt, batch_size=60)
    state = opt.state[model[0].weight]["step"].item()
    fit(model, (x, y), epochs=1, optimizer=opt, batch_size=60)
    assert state == 2 and opt.state[model[0].weight]["step"].item() == 4


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_named_optimizer_trains(name):
    x, y = blobs()
    model = mlp()
    before = evaluate(model, (x, y)).loss
    fit(model, (x, y), epochs=5, optimizer=name, lr=0.01, batch_size=20)
    assert evaluate(model, (x, y)).loss < before


def test_progress_bar_only_where_asked(capsys):
    x, y = blobs()
    fit(mlp(), (x, y), epochs=2, lr=0.01, batch_size=60)  # stderr is not a terminal here: silent
    assert capsys.readouterr() == ("", "")
    fit(mlp(), (x, y), epochs=2, lr=0.01, batch_size=60, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "fit: epoch" in err and err.endswith("\n")


# fit: argument errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), r"epochs must be an integer >= 1, got 0"),
    (dict(epochs=None), "epochs must be a positive integer"),
    (dict(epochs=True), "epochs must be an integer"),
    (dict(batch_size=0), r"batch_size must be an integer >= 1, got 0"),
    (dict(batch_size=2.5), "batch_size must be an integer"),
    (dict(lr=None), "lr must be given with optimizer='adam'"),
    (dict(lr=0.0), r"lr must be a real number > 0.0"),
    (dict(lr=float("nan")), "lr must be a real number"),
    (dict(optimizer="lbfgs"), "optimizer must be one of 'sgd', 'adam'"),
    (dict(optimizer=3), "optimizer must be one of"),
    (dict(optimizer="adam", momentum=0.9), "momentum applies to 'sgd' and 'rmsprop'"),
    (dict(optimizer="sgd", momentum=1.0), r"momentum must be a real number in \[0.0, 1.0\)"),
    (dict(weight_decay=-1.0), r"weight_decay must be a real number >= 0.0"),
    (dict(shuffle="yes"), "shuffle must be True or False"),
    (dict(seed=-1), r"seed must be an integer >= 0"),
    (dict(eval_every=0), r"eval_every must be an integer >= 1"),
    (dict(max_steps=0), r"max_steps must be an integer >= 1"),
    (dict(loss=None), "loss must be a function"),
    (dict(on_step="print"), "on_step must be a function or None"),
    (dict(eval_data=[(torch.zeros(3, 2), torch.zeros(3))]), "eval_data must be a mapping"),
    (dict(eval_data={"test": (torch.zeros(3, 2), torch.zeros(4))}), "same, non-zero first dimension"),
    (dict(eval_data={"a": (torch.zeros(3, 2), torch.zeros(3))}, metrics={"a_loss": len}), "clashing columns"),
    (dict(batch_size=200, drop_last=True), "leaves no batch"),
    (dict(progress="auto"), "progress must be True or False"),
])
def test_fit_rejects(kwargs, match):
    x, y = blobs()
    arguments = dict(epochs=1, lr=0.01, batch_size=10) | kwargs
    with pytest.raises(ValueError, match=match):
        fit(mlp(), (x, y), **arguments)


def test_fit_rejects_bad_data_and_models():
    x, y = blobs()
    with pytest.raises(ValueError, match=r"train_data must be a tuple \(inputs, targets, ...\)"):
        fit(mlp(), x, epochs=1, lr=0.01)
    with pytest.raises(ValueError, match="same, non-zero first dimension"):
        fit(mlp(), (x, y[:-1]), epochs=1, lr=0.01)
    with pytest.raises(ValueError, match=r"train_data\[1\] must be a tensor"):
        fit(mlp(), (x, y.tolist()), epochs=1, lr=0.01)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        fit(lambda t: t, (x, y), epochs=1, lr=0.01)
    model = mlp()
    with pytest.raises(ValueError, match="a ready torch.optim.Optimizer carries its own"):
        fit(model, (x, y), epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), lr=0.1)

"""``/v1/lab``: the playground, the activations and the optimizer race over REST, with
their limits answered 4xx naming the field."""

from __future__ import annotations

from tests.server.routes.conftest import Api


def test_playground_steps_continue_from_the_answer(api: Api) -> None:
    settings = {"dataset": "xor", "layers": [8], "learning_rate": 0.1, "seed": 1}
    first = api.call("POST", "/v1/lab/playground/steps", json={"settings": settings, "steps": 0})
    assert first.status_code == 200, first.text
    answer = first.json()
    for _ in range(4):
        response = api.call(
            "POST",
            "/v1/lab/playground/steps",
            json={
                "settings": settings,
                "weights": answer["weights"],
                "step": answer["step"],
                "steps": 100,
            },
        )
        assert response.status_code == 200, response.text
        answer = response.json()
    assert answer["step"] == 400 and answer["test_loss"] < 0.25 < first.json()["test_loss"]


def test_playground_limits_are_4xx_naming_the_field(api: Api) -> None:
    too_deep = api.call("POST", "/v1/lab/playground/steps", json={"settings": {"layers": [4] * 9}})
    assert too_deep.status_code == 422
    assert "layers" in too_deep.text and "at most 8" in too_deep.text
    too_many = api.call("POST", "/v1/lab/playground/steps", json={"settings": {}, "steps": 1000})
    assert too_many.status_code == 422 and "steps" in too_many.text
    wrong_weights = api.call(
        "POST",
        "/v1/lab/playground/steps",
        json={
            "settings": {"layers": [2]},
            "weights": [{"weight": [[1.0]], "bias": [0.0]}],
            "step": 3,
        },
    )
    assert wrong_weights.status_code == 400
    assert "weights: 1 layers given" in wrong_weights.json()["detail"]
    bad_csv = api.call(
        "POST",
        "/v1/lab/playground/steps",
        json={"settings": {"dataset": "csv", "csv": "1,2,a\n3,x,b\n1,1,a\n2,2,b\n"}},
    )
    assert bad_csv.status_code == 400 and "csv line 2" in bad_csv.json()["detail"]


def test_playground_as_a_run(api: Api) -> None:
    response = api.call(
        "POST",
        "/v1/lab/playground/run",
        json={"settings": {"dataset": "circles", "features": ["x1_sq", "x2_sq"]}, "steps": 50},
    )
    assert response.status_code == 200, response.text
    files = response.json()
    assert files["dataset"] == "playground-circles-0"
    assert "dataset: playground-circles-0" in files["yaml"]
    assert files["csv"].startswith("x1_sq,x2_sq,label\n")
    checked = api.call("POST", "/v1/specs/check", json={"spec": files["yaml"]})
    # the dataset is not imported here: the check names exactly that
    assert "playground-circles-0" in " ".join(checked.json()["problems"])


def test_activations_and_gradients(api: Api) -> None:
    curves = api.call("GET", "/v1/lab/activations")
    assert curves.status_code == 200
    assert {"maxout", "swish"} <= {curve["name"] for curve in curves.json()}
    norms = api.call("GET", "/v1/lab/activations/gradients?activation=sigmoid&activation=relu")
    assert norms.status_code == 200
    sigmoid, relu = norms.json()
    assert sigmoid["ratio"] < relu["ratio"]
    too_deep = api.call("GET", "/v1/lab/activations/gradients?depth=50")
    assert too_deep.status_code == 422 and "depth" in too_deep.text


def test_optimizer_race(api: Api) -> None:
    response = api.call(
        "POST",
        "/v1/lab/optimizers/race",
        json={
            "surface": "wells",
            "steps": 20,
            "racers": [{"optimizer": "adam", "lr": 0.1}, {"optimizer": "nesterov", "lr": 0.05}],
        },
    )
    assert response.status_code == 200, response.text
    assert [len(racer["path"]) for racer in response.json()["racers"]] == [21, 21]
    outside = api.call(
        "POST", "/v1/lab/optimizers/race", json={"surface": "wells", "start": [9, 9]}
    )
    assert outside.status_code == 400 and "outside the wells plot" in outside.json()["detail"]

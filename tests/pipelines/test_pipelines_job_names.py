"""A pipeline run's executions are named for the pipeline, the run and the step or model (issue 18)."""

from pipehelpers import SMALL


def test_each_job_of_a_run_says_its_pipeline_run_and_model(dl, champion):
    from desktop_app.jobs.naming import display_title

    cat = dl.default_client().catalog
    run = dl.pipelines.create("nightly", champion=champion, training={"skill": 0.9}, max_items=SMALL).run()
    assert run.status == "promoted", run.error
    number = run.number
    where = f"pipeline nightly, run {number}"
    titles = {s["name"]: display_title(cat, cat.get_execution(s["execution_id"])) for s in run.steps}
    assert titles["train"] == f"Pipeline nightly, run {number}: train"
    train = cat.get_execution(run.step("train")["output"]["train_execution_id"])
    assert display_title(cat, train) == f"Train {run.challenger.name} ({where})"
    ev = run.step("evaluate")["output"]
    champion_eval = cat.get_execution(ev["champion"]["execution_id"])
    assert display_title(cat, champion_eval) == (f"Evaluate dial-v1 on shapes, {SMALL['test']} items "
                                                 f"({where}, champion)")

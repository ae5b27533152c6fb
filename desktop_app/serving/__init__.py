"""The local inference service: Open Inference Protocol v2 over uvicorn + starlette, one process per model.
Uses: jobs, ml, evaluation, formats, catalog, domain, settings, errors.

manager  starts / stops / lists service processes (what `model.deploy()` and `service.stop()` call)
server   binding the socket, the service's URL, secrets read from stdin (the process itself is
         `python -m desktop_app.workflows.host HOME SERVICE_ID`, which loads the model)
app      the ASGI application (routes, auth, limits, errors); host, batching, protocol, images below it
export   TorchScript / ONNX files of a built-in model's network, checked against torch
"""

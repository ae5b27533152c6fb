"""The local inference service: Open Inference Protocol v2 over uvicorn + starlette, one process per model.

manager  starts / stops / lists service processes (what `model.deploy()` and `service.stop()` call)
server   the process itself: `python -m desktop_app.serving.server HOME SERVICE_ID`
app      the ASGI application (routes, auth, limits, errors); host, batching, protocol, images below it
export   TorchScript / ONNX files of a built-in model's network, checked against torch
"""

"""The domain's types, the bottom room: annotations and dataset bundles, image sizes, Dataloop's builders.
Uses: settings, errors.

It may use only desktop_app.errors and desktop_app.settings, the standard library, numpy and Pillow; every other
room may use it. Nothing is imported here, so `import desktop_app.domain.annotations` stays light.
"""

"""creditfirst: the table of contents. Wiring only; the logic lives in chalicelib."""
from chalice import Chalice

from chalicelib.api import callbacks, members, sandbox
from chalicelib.api import ops
from chalicelib.api.middleware import http_middleware
from chalicelib.jobs import lambdas

app = Chalice(app_name="creditfirst")
app.register_middleware(http_middleware, "http")

# HTTP routes, one blueprint per area
app.register_blueprint(members.bp)
app.register_blueprint(sandbox.bp)
app.register_blueprint(callbacks.bp)
app.register_blueprint(ops.bp)

# Scheduled sweeps and queue workers
app.register_blueprint(lambdas.bp)

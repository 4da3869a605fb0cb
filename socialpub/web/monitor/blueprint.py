"""The monitor's blueprint."""
from flask import Blueprint

bp = Blueprint("monitor", __name__, template_folder="templates")

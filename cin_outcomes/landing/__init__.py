"""Landing: the delivered CIN census, SSDA903 and NPD files as external assets, and the sensor that notices
new or changed deliveries and starts ingest for exactly the years that changed."""

from cin_outcomes.landing.assets import LANDING_ASSETS, assets
from cin_outcomes.landing.sensors import landing_sensor

__all__ = ["LANDING_ASSETS", "assets", "landing_sensor"]

"""BMKG earthquakes: the feed poller, and one alert per earthquake however often it is reported."""

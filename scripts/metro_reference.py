#!/usr/bin/env python3
"""metro_reference.py turns road-weather cases into METRo runs and reference JSON.

It is run by scripts/metro-reference.sh outside the project's CI: CI only reads
the JSON files it writes to internal/roadcast/testdata/metro/. Only the Python
standard library is used here; METRo itself is called as a subprocess.

Two kinds of case are produced:

* constructed nights at a station near Paderborn, defined in
  scripts/metro-cases/night-*.json (key points, linearly interpolated to hourly
  forecast values and 10-minute observations);
* METRo's own test-suite inputs (forecast, observation and station XML that
  ship with METRo), converted to the same JSON shape as "metro-example-<case>".

Radiation. Both models must see the same short- and long-wave radiation, so
METRo runs with --use-solarflux-forecast --use-infrared-forecast and the same
numbers go into the JSON as sw_down and lw_down. For constructed cases they are
derived here, at each hourly forecast time (instantaneous values):

  sw_down = G_clear * (1 - 0.75 * (N/8)^3.4)                 Kasten & Czeplak (1980)
  G_clear = 1098 * cos(z) * exp(-0.057 / cos(z)), cos(z) > 0  Haurwitz (1945)
            with z the solar zenith angle from the NOAA solar-position formulas.
  lw_down = eps * sigma * T^4,  eps = min(1, eps_clear * (1 + 0.22 * (N/8)^2))
  eps_clear = 1.24 * (e / T)^(1/7)                           Brutsaert (1975)
            e: vapour pressure in hPa from the dew point (Magnus over water,
            6.112 * exp(17.62 Td / (243.12 + Td))), T air temperature in K;
            the cloud factor 1 + 0.22 n^2 is Bolz's (1949).

Units. JSON: degC, m/s, octas, precipitation in mm/h as the mean over the hour
ending at "time" (like MOSMIX RR1c), hPa, W/m2. METRo's XML wants wind in km/h
and rain accumulated in mm since the first forecast time; both are converted
here. Observations: road_wet false is METRo road-condition code 33 (dry),
true is 34 (wet); METRo only distinguishes 33 from the rest.
road_subsurface_temperature is METRo's <sst>, which it places at 0.4 m depth
(its default without --use-sst-sensor-depth).

METRo's output (roadcast, every 20 min) is copied as road_surface_temperature
(<st>) and road_condition (<rc>: 1 dry, 2 wet, 3 ice/snow, 4 mix water/snow,
5 dew, 6 melting snow, 7 frost, 8 icing rain) from the issue time to 12 h
after it.
"""

import argparse
import datetime as dt
import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SIGMA = 5.670374419e-8
HORIZON = dt.timedelta(hours=12)
OBS_STEP = dt.timedelta(minutes=10)
KMH_PER_MS = 3.6
DRY, WET = 33, 34
# METRO_DATE is the date form METRo accepts; it skips (with a warning) a
# forecast time it cannot parse, so the conversion skips it too.
METRO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z$")


def parse_time(s):
    """Parse an ISO 8601 UTC time as METRo and the cases write it."""
    s = s.strip().replace("Z", "+00:00")
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc)


def rfc3339(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def metro_time(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def cos_zenith(t, lat, lon):
    """Return the cosine of the solar zenith angle (NOAA general solar position)."""
    doy = t.timetuple().tm_yday
    hour = t.hour + t.minute / 60 + t.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                       - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g)
            - 0.006758 * math.cos(2 * g) + 0.000907 * math.sin(2 * g)
            - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    tst = hour * 60 + eqtime + 4 * lon  # true solar time, minutes
    ha = math.radians(tst / 4 - 180)
    phi = math.radians(lat)
    return math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(ha)


def sw_down(t, lat, lon, octas):
    mu = cos_zenith(t, lat, lon)
    if mu <= 0:
        return 0.0
    clear = 1098 * mu * math.exp(-0.057 / mu)
    return clear * (1 - 0.75 * (octas / 8) ** 3.4)


def vapour_pressure(td):
    return 6.112 * math.exp(17.62 * td / (243.12 + td))


def lw_down(at, td, octas):
    tk = at + 273.15
    eps = 1.24 * (vapour_pressure(td) / tk) ** (1 / 7)
    eps = min(1.0, eps * (1 + 0.22 * (octas / 8) ** 2))
    return eps * SIGMA * tk ** 4


def interpolate(keys, h, field):
    """Interpolate field linearly over key points sorted by their offset h."""
    pts = [(k["h"], k[field]) for k in keys if field in k]
    if not pts:
        raise ValueError("no key point has %r" % field)
    if h <= pts[0][0]:
        return pts[0][1]
    for (h0, v0), (h1, v1) in zip(pts, pts[1:]):
        if h <= h1:
            return v0 + (v1 - v0) * (h - h0) / (h1 - h0)
    return pts[-1][1]


def step(keys, h, field):
    """Return the value of the last key point at or before h (for flags)."""
    val = None
    for k in keys:
        if field in k and k["h"] <= h + 1e-9:
            val = k[field]
    if val is None:
        raise ValueError("no key point at or before %s has %r" % (h, field))
    return val


def build_case(case):
    """Expand a case definition into the JSON forecast and observation lists."""
    st = case["station"]
    issued = parse_time(case["issued"])
    obs_h = case["observation_hours"]
    fc_h = case["forecast_hours"]
    if fc_h < 12:
        raise ValueError("%s: forecast_hours %s < 12" % (case["name"], fc_h))
    forecast = []
    for h in range(-obs_h, fc_h + 1):
        t = issued + dt.timedelta(hours=h)
        at = round(interpolate(case["air"], h, "at"), 2)
        td = round(min(at, interpolate(case["air"], h, "td")), 2)
        cc = int(round(interpolate(case["air"], h, "cc")))
        forecast.append({
            "time": rfc3339(t),
            "air_temperature": at,
            "dew_point": td,
            "wind_speed": round(interpolate(case["air"], h, "ws"), 2),
            "cloud_cover": cc,
            "precipitation": round(interpolate(case["air"], h, "pr"), 2),
            "pressure": round(interpolate(case["air"], h, "ap"), 1),
            "sw_down": round(sw_down(t, st["lat"], st["lon"], cc), 1),
            "lw_down": round(lw_down(at, td, cc), 1),
        })
    observations = []
    n = int(dt.timedelta(hours=obs_h) / OBS_STEP)
    for i in range(n + 1):
        h = -obs_h + i * OBS_STEP / dt.timedelta(hours=1)
        at = round(interpolate(case["air"], h, "at"), 2)
        observations.append({
            "time": rfc3339(issued + dt.timedelta(hours=h)),
            "air_temperature": at,
            "dew_point": round(min(at, interpolate(case["air"], h, "td")), 2),
            "road_surface_temperature": round(interpolate(case["road"], h, "st"), 2),
            "road_subsurface_temperature": round(interpolate(case["road"], h, "sst"), 2),
            "wind_speed": round(interpolate(case["air"], h, "ws"), 2),
            "road_wet": bool(step(case["road"], h, "wet")),
        })
    return {
        "name": case["name"],
        "station": {"lat": st["lat"], "lon": st["lon"]},
        "issued": rfc3339(issued),
        "forecast": forecast,
        "observations": observations,
    }


def sub(parent, tag, text):
    e = ET.SubElement(parent, tag)
    e.text = text
    return e


def num(v):
    return "%.2f" % v


def write_forecast_xml(ref, path):
    root = ET.Element("forecast")
    hdr = ET.SubElement(root, "header")
    sub(hdr, "version", "1.1")
    sub(hdr, "production-date", metro_time(parse_time(ref["issued"])))
    pl = ET.SubElement(root, "prediction-list")
    rain = 0.0
    for i, f in enumerate(ref["forecast"]):
        if i > 0:
            hours = (parse_time(f["time"]) - parse_time(ref["forecast"][i - 1]["time"])) / dt.timedelta(hours=1)
            rain += f["precipitation"] * hours
        p = ET.SubElement(pl, "prediction")
        sub(p, "forecast-time", metro_time(parse_time(f["time"])))
        sub(p, "at", num(f["air_temperature"]))
        sub(p, "td", num(f["dew_point"]))
        sub(p, "ra", num(rain))
        sub(p, "sn", "0.00")
        sub(p, "ws", num(f["wind_speed"] * KMH_PER_MS))
        sub(p, "ap", num(f["pressure"]))
        sub(p, "cc", str(f["cloud_cover"]))
        sub(p, "sf", num(f["sw_down"]))
        sub(p, "ir", num(f["lw_down"]))
    ET.ElementTree(root).write(path, xml_declaration=True, encoding="UTF-8")


def write_observation_xml(ref, case, path):
    root = ET.Element("observation")
    hdr = ET.SubElement(root, "header")
    sub(hdr, "version", "1.0")
    sub(hdr, "road-station", case["station"]["id"])
    sub(hdr, "filetype", "observation")
    ml = ET.SubElement(root, "measure-list")
    issued = parse_time(ref["issued"])
    for o in ref["observations"]:
        t = parse_time(o["time"])
        h = (t - issued) / dt.timedelta(hours=1)
        m = ET.SubElement(ml, "measure")
        sub(m, "observation-time", metro_time(t))
        sub(m, "at", num(o["air_temperature"]))
        sub(m, "td", num(o["dew_point"]))
        sub(m, "pi", "1" if interpolate(case["air"], h, "pr") > 0 else "0")
        sub(m, "ws", num(o["wind_speed"] * KMH_PER_MS))
        sub(m, "sc", str(WET if o["road_wet"] else DRY))
        sub(m, "st", num(o["road_surface_temperature"]))
        sub(m, "sst", num(o["road_subsurface_temperature"]))
    ET.ElementTree(root).write(path, xml_declaration=True, encoding="UTF-8")


def write_station_xml(ref, case, path):
    st = case["station"]
    root = ET.Element("station")
    hdr = ET.SubElement(root, "header")
    sub(hdr, "version", "1.0")
    sub(hdr, "road-station", st["id"])
    sub(hdr, "time-zone", st["time_zone"])
    sub(hdr, "production-date", metro_time(parse_time(ref["issued"])))
    co = ET.SubElement(hdr, "coordinate")
    sub(co, "latitude", str(st["lat"]))
    sub(co, "longitude", str(st["lon"]))
    sub(hdr, "station-type", st["type"])
    ll = ET.SubElement(root, "roadlayer-list")
    for i, layer in enumerate(st["layers"], 1):
        rl = ET.SubElement(ll, "roadlayer")
        sub(rl, "position", str(i))
        sub(rl, "type", layer["type"])
        sub(rl, "thickness", str(layer["thickness"]))
    ET.ElementTree(root).write(path, xml_declaration=True, encoding="UTF-8")


def run_metro(metro, fc, obs, stn, out, start=None):
    """Run METRo with forecast radiation and return its roadcast path."""
    cmd = [sys.executable, metro, "--silent",
           "--input-forecast", fc, "--input-observation", obs,
           "--input-station", stn, "--output-roadcast", out,
           "--use-solarflux-forecast", "--use-infrared-forecast",
           "--log-file", out + ".log"]
    if start is not None:
        cmd += ["--roadcast-start-date", metro_time(start)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0 or not os.path.exists(out):
        raise RuntimeError("METRo failed (%d): %s\n%s%s" % (res.returncode, " ".join(cmd),
                                                           res.stdout[-2000:], res.stderr[-2000:]))
    return out


def read_roadcast(path, issued):
    """Return the roadcast's first time and its predictions up to issued + 12 h."""
    root = ET.parse(path).getroot()
    first = parse_time(root.findtext("header/first-roadcast"))
    out = []
    for p in root.iter("prediction"):
        t = parse_time(p.findtext("roadcast-time"))
        if t < issued or t > issued + HORIZON:
            continue
        out.append({"time": rfc3339(t),
                    "road_surface_temperature": float(p.findtext("st")),
                    "road_condition": int(p.findtext("rc"))})
    return first, out


def constructed(metro, case_file, station, work):
    with open(case_file, encoding="utf-8") as f:
        case = json.load(f)
    case["station"] = station
    ref = build_case(case)
    d = os.path.join(work, case["name"])
    os.makedirs(d, exist_ok=True)
    fc, obs, stn = (os.path.join(d, n) for n in ("forecast.xml", "observation.xml", "station.xml"))
    write_forecast_xml(ref, fc)
    write_observation_xml(ref, case, obs)
    write_station_xml(ref, case, stn)
    issued = parse_time(ref["issued"])
    first, rows = read_roadcast(run_metro(metro, fc, obs, stn, os.path.join(d, "roadcast.xml"), issued), issued)
    if first != issued:
        raise RuntimeError("%s: METRo started its roadcast at %s, not %s" % (case["name"], first, issued))
    ref["metro"] = rows
    return ref


def xml_float(e, tag):
    v = e.findtext(tag)
    if v is None:
        return None
    v = float(v)
    return None if v >= 9999 or v <= -9999 else v


def example(metro, case_dir, work):
    """Run METRo on one of its own test-suite cases and convert it."""
    name = "metro-example-" + os.path.basename(case_dir.rstrip("/"))
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    fc, obs, stn = (os.path.join(case_dir, n) for n in ("forecast.xml", "observation.xml", "station.xml"))
    out = run_metro(metro, fc, obs, stn, os.path.join(d, "roadcast.xml"))
    issued = parse_time(ET.parse(out).getroot().findtext("header/first-roadcast"))
    _, rows = read_roadcast(out, issued)
    sroot = ET.parse(stn).getroot()
    station = {"lat": float(sroot.findtext("header/coordinate/latitude")),
               "lon": float(sroot.findtext("header/coordinate/longitude"))}
    forecast, prev = [], None
    for p in ET.parse(fc).getroot().iter("prediction"):
        ts = p.findtext("forecast-time").strip()
        if not METRO_DATE.match(ts):
            print("%s: skipping forecast time %r that METRo rejects" % (name, ts))
            continue
        t = parse_time(ts)
        # ra is mm and sn cm accumulated since the first forecast time; METRo
        # counts 1 cm of snow as 1 mm of water (nSnowWaterRatio 10).
        acc = (xml_float(p, "ra") or 0.0) + (xml_float(p, "sn") or 0.0)
        rate = 0.0
        if prev is not None:
            rate = max(0.0, acc - prev[1]) / ((t - prev[0]) / dt.timedelta(hours=1))
        prev = (t, acc)
        forecast.append({
            "time": rfc3339(t),
            "air_temperature": xml_float(p, "at"),
            "dew_point": xml_float(p, "td"),
            "wind_speed": round(xml_float(p, "ws") / KMH_PER_MS, 3),
            "cloud_cover": int(round(xml_float(p, "cc"))),
            "precipitation": round(rate, 3),
            "pressure": xml_float(p, "ap"),
            "sw_down": xml_float(p, "sf"),
            "lw_down": xml_float(p, "ir"),
        })
    start = parse_time(forecast[0]["time"])
    observations = []
    for m in ET.parse(obs).getroot().iter("measure"):
        t = parse_time(m.findtext("observation-time"))
        if t < start or t > issued:
            continue
        o = {"time": rfc3339(t), "air_temperature": xml_float(m, "at"),
             "dew_point": xml_float(m, "td"),
             "road_surface_temperature": xml_float(m, "st")}
        sst = xml_float(m, "sst")
        if sst is not None:
            o["road_subsurface_temperature"] = sst
        o["wind_speed"] = round((xml_float(m, "ws") or 0.0) / KMH_PER_MS, 3)
        # METRo reads every road-condition code other than 33 as wet.
        o["road_wet"] = m.findtext("sc", "33").strip() != "33"
        if None in (o["air_temperature"], o["dew_point"], o["road_surface_temperature"]):
            continue
        observations.append(o)
    return {"name": name, "station": station, "issued": rfc3339(issued),
            "forecast": forecast, "observations": observations, "metro": rows}


def check(ref):
    """Refuse a reference the comparison in CI could not use."""
    issued = parse_time(ref["issued"])
    for key in ("forecast", "observations", "metro"):
        times = [parse_time(r["time"]) for r in ref[key]]
        if not times or any(b <= a for a, b in zip(times, times[1:])):
            raise RuntimeError("%s: %s is empty or not in time order" % (ref["name"], key))
    fc = [parse_time(r["time"]) for r in ref["forecast"]]
    m = [parse_time(r["time"]) for r in ref["metro"]]
    if fc[0] > issued or fc[-1] < issued + HORIZON:
        raise RuntimeError("%s: forecast %s..%s does not cover 12 h from %s" % (ref["name"], fc[0], fc[-1], issued))
    if m[0] != issued or m[-1] != issued + HORIZON:
        raise RuntimeError("%s: METRo output %s..%s is not the 12 h from %s" % (ref["name"], m[0], m[-1], issued))
    if parse_time(ref["observations"][-1]["time"]) > issued:
        raise RuntimeError("%s: an observation lies after the issue time" % ref["name"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--metro", required=True, help="path of METRo's usr/bin/metro")
    ap.add_argument("--cases", required=True,
                    help="directory of case definitions (night-*.json) and the station (station.json)")
    ap.add_argument("--examples", nargs="*", default=[], help="METRo test-suite case directories")
    ap.add_argument("--out", required=True, help="output directory for <case>.json")
    ap.add_argument("--work", default=None, help="directory for METRo's XML files (default: temporary)")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="metro-ref-")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.cases, "station.json"), encoding="utf-8") as f:
        station = json.load(f)
    cases = sorted(glob.glob(os.path.join(args.cases, "night-*.json")))
    refs = [constructed(args.metro, c, station, work) for c in cases]
    refs += [example(args.metro, d, work) for d in args.examples]
    for ref in refs:
        check(ref)
        path = os.path.join(args.out, ref["name"] + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(ref, f, indent=1)
            f.write("\n")
        sts = [r["road_surface_temperature"] for r in ref["metro"]]
        print("%-32s %3d forecast %3d obs %3d metro  st %.2f..%.2f" % (
            ref["name"], len(ref["forecast"]), len(ref["observations"]), len(ref["metro"]), min(sts), max(sts)))
    print("work files in", work)


if __name__ == "__main__":
    main()

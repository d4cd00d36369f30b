// UI strings in German and English. Every key exists in both languages;
// the browser test checks that no key is missing.
const de = {
  skip: 'Zum Inhalt springen', navLabel: 'Hauptnavigation',
  navOverview: 'Übersicht', navAlerts: 'Alarme', navRoads: 'Straßen', navReport: 'Energiebericht',
  navPeers: 'Verbund', peers: 'Gateways im Kreisnetz', peersOff: 'Dieses Gateway ist nicht Teil eines Kreisnetzes (roaming.enabled).',
  peersHelp: 'Jedes Gateway ist Heimat seiner eigenen Geräte und leitet Funkpakete der Geräte anderer Gateways an deren Heimat weiter.',
  peerName: 'Gateway', peerNSID: 'NSID', peerBlocks: 'DevAddr-Blöcke', peerSent: 'Anfragen gesendet', peerReceived: 'Anfragen empfangen',
  peerErrors: 'Fehler', peerRTT: 'Umlaufzeit', peerQueue: 'Warteschlange', peerLast: 'Zuletzt erreicht', peerSelf: 'dieses',
  langSwitch: 'English', langSwitchLabel: 'Switch to English',
  token: 'Zugangstoken', tokenChange: 'Token', tokenTitle: 'Anmelden',
  tokenHelp: 'Das Token steht in der Konfiguration des Gateways (http.read_token oder http.admin_token). Es bleibt nur in diesem Browser gespeichert.',
  tokenSave: 'Anmelden', tokenInvalid: 'Das Token wurde abgelehnt.', cancel: 'Abbrechen',
  tokenPlainHTTP: 'Über unverschlüsseltes HTTP aus dem Netz nimmt das Gateway kein Token an. Bitte die Seite über HTTPS öffnen (http.tls in der Konfiguration) oder über einen TLS-Proxy (http.behind_tls_proxy).',
  tokenTooMany: 'Zu viele falsche Tokens von dieser Adresse. Bitte in {0} s erneut versuchen.',
  loading: 'Lädt …', error: 'Fehler', retry: 'Erneut versuchen',
  notConfigured: 'Dieser Dienst ist auf diesem Gateway nicht eingerichtet: {0}.',
  forbidden: 'Dafür ist ein Admin-Token nötig.',
  svc_alerts: 'Alarmierung', svc_reports: 'Energieberichte', svc_series: 'Messwertspeicher', svc_devices: 'Geräteverwaltung',
  svc_gateways: 'Paketweiterleitung (UDP)', svc_sites: 'Standorte', svc_frames: 'Paketprotokoll',
  gateways: 'Gateways', devices: 'Geräte', noGateways: 'Noch kein Gateway hat sich gemeldet.',
  noDevices: 'Keine Geräte eingetragen.', filter: 'Filtern', filterHint: 'Name, EUI, Standort, Profil',
  id: 'ID', address: 'Adresse', lastSeen: 'Zuletzt gesehen', packets: 'Pakete (OK/gesamt)', rxRejected: '{0} verworfen', gpsTimeRejected: '{0}× GPS-Zeit verworfen', txAckMissing: '{0}× TX_ACK fehlt',
  name: 'Name', profile: 'Profil', site: 'Standort', rssi: 'RSSI', snr: 'SNR', battery: 'Batterie',
  online: 'online', offline: 'keine Meldung seit über 5 Minuten', never: 'nie',
  device: 'Gerät', liveValues: 'Aktuelle Werte', updated: 'Aktualisiert {0}', noValues: 'Noch keine Messwerte.',
  charts: 'Verläufe', range: 'Zeitraum', h24: '24 Stunden', d7: '7 Tage', d30: '30 Tage',
  perInterval: 'Verbrauch je Intervall', noData: 'Keine Daten im Zeitraum.', back: 'Zurück zur Übersicht',
  activation: 'Aktivierung', class: 'Klasse', fcnt: 'Uplink-Zähler', lastGateway: 'Letztes Gateway',
  mac: 'Funkparameter (LoRaWAN-MAC)', dataRate: 'Datenrate', txPower: 'Sendeleistung', txPowerIndex: 'Stufe {0}',
  nbTrans: 'Sendungen je Uplink (NbTrans)', adr: 'ADR', adrOn: 'an', adrOff: 'aus', margin: 'Empfangsreserve (DevStatus)',
  devBattery: 'Batterie (DevStatus)', externalPower: 'externe Versorgung', pendingMac: 'Unbeantwortete MAC-Befehle',
  noneMac: 'keine', fcntDown: 'Downlink-Zähler', adrMargin: 'ADR-Reserve', notAnswering: 'Ohne Antwort aufgegeben',
  alerts: 'Alarme', alertsCurrent: 'Aktuelle Alarme', showAll: 'Auch erledigte zeigen', noAlerts: 'Keine aktiven Alarme.',
  ack: 'Quittieren', ackTitle: 'Alarm quittieren', ackName: 'Ihr Name', ackDone: 'Quittiert von {0}.',
  ackedBy: 'Quittiert von {0} um {1}', since: 'seit {0}', silenced: 'stummgeschaltet',
  silence: 'Stummschalten', silences: 'Stummschaltungen', noSilences: 'Keine Stummschaltungen.',
  silenceSite: 'Standort', silenceDuration: 'Dauer', silenceComment: 'Grund (optional)',
  silenceCreate: 'Stummschaltung anlegen', silenceCreated: 'Stummschaltung bis {0} angelegt.',
  silenceEnd: 'Beenden', silenceEnded: 'Stummschaltung beendet.', until: 'bis {0}', by: 'von {0}',
  hours: '{0} Std.', days: '{0} Tage', value: 'Messwert',
  state_pending: 'ausstehend', state_firing: 'aktiv', state_acknowledged: 'quittiert', state_resolved: 'erledigt',
  level_info: 'Info', level_vorwarnung: 'Vorwarnung', level_warnung: 'Warnung', level_alarm: 'Alarm',
  level_none: 'keine Warnung', level_unknown: 'unbekannt',
  fcRisk: 'Glättegefahr ab {0}, in {1}', fcNoRisk: 'Keine Glättegefahr in den nächsten 12 h', fcNone: 'Keine Physik-Vorhersage: {0}',
  fcSource: 'Vorhersage {0}, ausgegeben {1}', fcTitle: 'Fahrbahntemperatur gemessen und vorhergesagt, Taupunkt, 0 °C',
  roads: 'Straßenwetterstationen', noRoads: 'Keine Straßenabschnitte (Standorte der Art „road“) eingetragen.',
  route: 'Streuroute {0}', noRoute: 'Ohne Streuroute', surface: 'Fahrbahn', air: 'Luft', dewPoint: 'Taupunkt',
  surfaceState: 'Zustand', noStation: 'Kein Messgerät', iceUnknown: 'Glättewarnungen nicht verfügbar',
  report: 'Energiebericht', reportDownload: 'Bericht herunterladen', from: 'Von', to: 'Bis (ausschließlich)', sites: 'Gebäude', allSites: 'alle Gebäude (nichts ausgewählt)',
  format: 'Format', reportLang: 'Sprache des Berichts', download: 'Herunterladen',
  reportStarted: 'Der Bericht wird erstellt und heruntergeladen.', badRange: '„Von“ muss vor „Bis“ liegen.',
  tokenInUrl: 'Der Download-Link enthält Ihr Token; geben Sie ihn nicht weiter.',
  surf_0: 'trocken', surf_1: 'feucht', surf_32: 'nass', surf_64: 'gefrierendes Wasser', surf_65: 'Schnee', surf_66: 'Eis', surf_67: 'Raureif',
};

const en = {
  skip: 'Skip to content', navLabel: 'Main navigation',
  navOverview: 'Overview', navAlerts: 'Alerts', navRoads: 'Roads', navReport: 'Energy report',
  navPeers: 'Peers', peers: 'Gateways of the county network', peersOff: 'This gateway is not part of a county network (roaming.enabled).',
  peersHelp: 'Every gateway is the home of its own devices and forwards frames of other gateways\' devices to their home.',
  peerName: 'Gateway', peerNSID: 'NSID', peerBlocks: 'DevAddr blocks', peerSent: 'Requests sent', peerReceived: 'Requests received',
  peerErrors: 'Errors', peerRTT: 'Round trip', peerQueue: 'Queue', peerLast: 'Last reached', peerSelf: 'this one',
  langSwitch: 'Deutsch', langSwitchLabel: 'Auf Deutsch umschalten',
  token: 'Access token', tokenChange: 'Token', tokenTitle: 'Sign in',
  tokenHelp: 'The token is in the gateway configuration (http.read_token or http.admin_token). It is stored in this browser only.',
  tokenSave: 'Sign in', tokenInvalid: 'The token was rejected.', cancel: 'Cancel',
  tokenPlainHTTP: 'The gateway accepts no token over unencrypted HTTP from the network. Please open the page over HTTPS (http.tls in the configuration) or through a TLS proxy (http.behind_tls_proxy).',
  tokenTooMany: 'Too many wrong tokens from this address. Please try again in {0} s.',
  loading: 'Loading …', error: 'Error', retry: 'Try again',
  notConfigured: 'This service is not set up on this gateway: {0}.',
  forbidden: 'This needs an admin token.',
  svc_alerts: 'alerting', svc_reports: 'energy reports', svc_series: 'measurement store', svc_devices: 'device registry',
  svc_gateways: 'packet forwarder (UDP)', svc_sites: 'sites', svc_frames: 'frame log',
  gateways: 'Gateways', devices: 'Devices', noGateways: 'No gateway has reported yet.',
  noDevices: 'No devices registered.', filter: 'Filter', filterHint: 'name, EUI, site, profile',
  id: 'ID', address: 'Address', lastSeen: 'Last seen', packets: 'Packets (OK/total)', rxRejected: '{0} rejected', gpsTimeRejected: 'GPS time rejected {0}×', txAckMissing: 'TX_ACK missing {0}×',
  name: 'Name', profile: 'Profile', site: 'Site', rssi: 'RSSI', snr: 'SNR', battery: 'Battery',
  online: 'online', offline: 'silent for more than 5 minutes', never: 'never',
  device: 'Device', liveValues: 'Current values', updated: 'Updated {0}', noValues: 'No measurements yet.',
  charts: 'History', range: 'Range', h24: '24 hours', d7: '7 days', d30: '30 days',
  perInterval: 'consumption per interval', noData: 'No data in this range.', back: 'Back to the overview',
  activation: 'Activation', class: 'Class', fcnt: 'Uplink counter', lastGateway: 'Last gateway',
  mac: 'Radio settings (LoRaWAN MAC)', dataRate: 'Data rate', txPower: 'TX power', txPowerIndex: 'index {0}',
  nbTrans: 'Transmissions per uplink (NbTrans)', adr: 'ADR', adrOn: 'on', adrOff: 'off', margin: 'Link margin (DevStatus)',
  devBattery: 'Battery (DevStatus)', externalPower: 'external power', pendingMac: 'Unanswered MAC commands',
  noneMac: 'none', fcntDown: 'Downlink counter', adrMargin: 'ADR margin', notAnswering: 'Given up (no answer)',
  alerts: 'Alerts', alertsCurrent: 'Current alerts', showAll: 'Show resolved too', noAlerts: 'No active alerts.',
  ack: 'Acknowledge', ackTitle: 'Acknowledge alert', ackName: 'Your name', ackDone: 'Acknowledged by {0}.',
  ackedBy: 'Acknowledged by {0} at {1}', since: 'since {0}', silenced: 'silenced',
  silence: 'Silence', silences: 'Silences', noSilences: 'No silences.',
  silenceSite: 'Site', silenceDuration: 'Duration', silenceComment: 'Reason (optional)',
  silenceCreate: 'Create silence', silenceCreated: 'Silenced until {0}.',
  silenceEnd: 'End', silenceEnded: 'Silence ended.', until: 'until {0}', by: 'by {0}',
  hours: '{0} h', days: '{0} days', value: 'Value',
  state_pending: 'pending', state_firing: 'firing', state_acknowledged: 'acknowledged', state_resolved: 'resolved',
  level_info: 'Info', level_vorwarnung: 'Pre-warning', level_warnung: 'Warning', level_alarm: 'Alarm',
  level_none: 'no warning', level_unknown: 'unknown',
  fcRisk: 'Slippery roads from {0}, in {1}', fcNoRisk: 'No ice risk in the next 12 h', fcNone: 'No physics forecast: {0}',
  fcSource: 'Forecast {0}, issued {1}', fcTitle: 'Road surface temperature measured and forecast, dew point, 0 °C',
  roads: 'Road weather stations', noRoads: 'No road sections (sites of kind "road") registered.',
  route: 'Route {0}', noRoute: 'No route', surface: 'Surface', air: 'Air', dewPoint: 'Dew point',
  surfaceState: 'State', noStation: 'No station', iceUnknown: 'Ice warnings not available',
  report: 'Energy report', reportDownload: 'Download a report', from: 'From', to: 'To (exclusive)', sites: 'Buildings', allSites: 'all buildings (none selected)',
  format: 'Format', reportLang: 'Report language', download: 'Download',
  reportStarted: 'The report is being built and downloaded.', badRange: '"From" must be before "To".',
  tokenInUrl: 'The download link contains your token; do not share it.',
  surf_0: 'dry', surf_1: 'moist', surf_32: 'wet', surf_64: 'freezing water', surf_65: 'snow', surf_66: 'ice', surf_67: 'hoar frost',
};

// Quantity names: [German, English].
const quantities = {
  air_temperature: ['Lufttemperatur', 'Air temperature'],
  road_surface_temperature: ['Fahrbahntemperatur', 'Road surface temperature'],
  road_subsurface_temperature: ['Bodentemperatur', 'Subsurface temperature'],
  relative_humidity: ['Luftfeuchte', 'Relative humidity'],
  dew_point: ['Taupunkt', 'Dew point'], frost_point: ['Frostpunkt', 'Frost point'],
  freezing_temperature: ['Gefriertemperatur', 'Freezing temperature'],
  road_surface_state: ['Fahrbahnzustand', 'Road surface state'],
  water_film_height: ['Wasserfilmhöhe', 'Water film height'],
  precipitation: ['Niederschlag', 'Precipitation'], barometric_pressure: ['Luftdruck', 'Air pressure'],
  wind_speed: ['Windgeschwindigkeit', 'Wind speed'], wind_direction: ['Windrichtung', 'Wind direction'],
  solar_radiation: ['Globalstrahlung', 'Solar radiation'],
  co2: ['CO₂', 'CO₂'], tvoc: ['TVOC', 'TVOC'], pm1: ['PM1', 'PM1'], pm2_5: ['PM2,5', 'PM2.5'], pm4: ['PM4', 'PM4'],
  pm10: ['PM10', 'PM10'], no2: ['NO₂', 'NO₂'], illuminance: ['Helligkeit', 'Illuminance'],
  motion_count: ['Bewegungen', 'Motion count'], occupancy: ['Belegung', 'Occupancy'],
  battery_voltage: ['Batteriespannung', 'Battery voltage'], battery_percent: ['Batterie', 'Battery'],
  energy_active_import: ['Strombezug', 'Active energy import'], energy_active_export: ['Stromeinspeisung', 'Active energy export'],
  power_active: ['Wirkleistung', 'Active power'], heat_energy: ['Wärmemenge', 'Heat energy'], heat_power: ['Wärmeleistung', 'Heat power'],
  flow_temperature: ['Vorlauftemperatur', 'Flow temperature'], return_temperature: ['Rücklauftemperatur', 'Return temperature'],
  volume_flow: ['Durchfluss', 'Volume flow'], water_volume: ['Wasserzähler', 'Water volume'], gas_volume: ['Gaszähler', 'Gas volume'],
  pulse_count: ['Impulse', 'Pulse count'], valve_state: ['Ventil', 'Valve'],
  leak_alarm: ['Leckage', 'Leak'], burst_alarm: ['Rohrbruch', 'Burst'], backflow_alarm: ['Rückfluss', 'Backflow'],
  dry_alarm: ['Trockenlauf', 'Dry'], tamper_alarm: ['Manipulation', 'Tamper'], low_battery: ['Batterie schwach', 'Low battery'],
};

const units = { degC: '°C', m3: 'm³', 'm3/h': 'm³/h', 'ug/m3': 'µg/m³', 'W/m2': 'W/m²', percent: '%' };

export const strings = { de, en };
export let lang = 'de';

export function setLang(l) {
  lang = l === 'en' ? 'en' : 'de';
  document.documentElement.lang = lang;
}

// t returns the string for key with {0}, {1}, ... replaced by args.
export function t(key, ...args) {
  const s = strings[lang][key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

export function quantityName(q) {
  const n = quantities[q];
  return n ? n[lang === 'de' ? 0 : 1] : q.replaceAll('_', ' ');
}

export function unitName(u) { return units[u] ?? u ?? ''; }

const locale = () => (lang === 'de' ? 'de-DE' : 'en-GB');

export function num(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(v);
}

export function dateTime(s) {
  if (!s) return t('never');
  const d = new Date(s);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 2000) return t('never');
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeStyle: 'short' }).format(d);
}

export function timeOnly(d) {
  return new Intl.DateTimeFormat(locale(), { timeStyle: 'medium' }).format(d);
}

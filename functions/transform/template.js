// The JavaScript UDF of the BigQuery subscription router: one Pub/Sub message (a DT event) → one
// row of the landing table, exactly as functions/envelope.py and functions/rows.py build it for the
// route function. Plain ECMAScript (2015), no require, no Node API. The schema data below is
// generated from functions/schemas/ by `python -m functions.transform`, which writes
// dt_event_to_row.js from this template: edit this file or the schemas, never the output.
// A message that is not a DT event throws an Error with the reason the route function gives
// ("not a DT event: " + envelope.parse's reason): Pub/Sub then retries it and dead-letters it after
// the subscription's maximum delivery attempts, with that text in its reason.
'use strict';
var SCHEMA = /*SCHEMA*/ null;
var TYPES = new Map(Object.keys(SCHEMA.types).map(function (k) { return [k, SCHEMA.types[k]]; }));
// BigQuery's JSON type nests at most 500 levels.
var MAX_DEPTH = 500;
var EVENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
var EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
var DEVICE_NAME = /^projects\/([A-Za-z0-9_-]{1,128})\/devices\/([A-Za-z0-9_-]{1,128})$/;
var RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|z|[+-][0-9]{2}:[0-9]{2})$/;
var OUT_OF_RANGE = 'the body holds a number beyond what a 64-bit float holds (about 1.8e308)';

function refuse(reason) { throw new Error('not a DT event: ' + reason); }
// A JSON number as written: its text (exact, also for integers beyond 2^53) and whether it had a
// fraction or exponent (Python reads those as float, the others as int).
function Num(text, isFloat) { this.t = text; this.f = isFloat; this.v = Number(text); }
// A JSON token already written out (numbers and timestamps in the row).
function Raw(text) { this.t = text; }

// JSON, parsed as Python's json module with envelope.parse's hooks: objects as Maps (key order
// kept), duplicate keys and NaN/Infinity refused, numbers kept as written.
var NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
var STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;

function tooDeep(s) {
  var count = 0, depth = 0, i, c;
  for (i = 0; i < s.length; i++) { c = s.charCodeAt(i); if (c === 91 || c === 123) count++; }
  if (count <= MAX_DEPTH) return false;
  var bare = s.replace(/"(?:[^"\\]|\\[\s\S])*"?/g, '');
  for (i = 0; i < bare.length; i++) {
    c = bare.charCodeAt(i);
    if (c === 91 || c === 123) { if (++depth > MAX_DEPTH) return true; } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

function parseJson(s) {
  var i = 0;
  function fail(what) { refuse('the body is not JSON: ' + what + ' at char ' + i); }
  function ws() {
    for (var c = s.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = s.charCodeAt(++i));
  }
  function string() {
    STRING.lastIndex = i;
    var m = STRING.exec(s);
    if (!m) fail('invalid string');
    i = STRING.lastIndex;
    return JSON.parse(m[0]);
  }
  function object() {
    var pairs = [], map = new Map(), k;
    i++; ws();
    if (s.charAt(i) === '}') { i++; return map; }
    for (;;) {
      ws();
      if (s.charAt(i) !== '"') fail('a key expected');
      k = string(); ws();
      if (s.charAt(i) !== ':') fail("':' expected");
      i++;
      pairs.push([k, value()]); ws();
      if (s.charAt(i) === '}') break;
      if (s.charAt(i) !== ',') fail("',' or '}' expected");
      i++;
    }
    i++;
    for (k = 0; k < pairs.length; k++) {
      if (map.has(pairs[k][0])) refuse('the body has the key ' + pyString(pairs[k][0]) + ' more than once');
      map.set(pairs[k][0], pairs[k][1]);
    }
    return map;
  }
  function array() {
    var items = [];
    i++; ws();
    if (s.charAt(i) === ']') { i++; return items; }
    for (;;) {
      items.push(value()); ws();
      if (s.charAt(i) === ']') { i++; return items; }
      if (s.charAt(i) !== ',') fail("',' or ']' expected");
      i++;
    }
  }
  function value() {
    ws();
    var c = s.charAt(i);
    if (c === '"') return string();
    if (c === '{') return object();
    if (c === '[') return array();
    if (s.startsWith('null', i)) { i += 4; return null; }
    if (s.startsWith('true', i)) { i += 4; return true; }
    if (s.startsWith('false', i)) { i += 5; return false; }
    if (s.startsWith('NaN', i)) refuse('the body holds NaN, which is not valid JSON');
    if (s.startsWith('Infinity', i)) refuse('the body holds Infinity, which is not valid JSON');
    if (s.startsWith('-Infinity', i)) refuse('the body holds -Infinity, which is not valid JSON');
    NUMBER.lastIndex = i;
    var m = NUMBER.exec(s);
    if (!m) fail('a value expected');
    i = NUMBER.lastIndex;
    var number = new Num(m[0], m[1] !== undefined || m[2] !== undefined);
    if (!isFinite(number.v)) refuse(OUT_OF_RANGE);
    return number;
  }
  var result = value();
  ws();
  if (i < s.length) fail('extra data');
  return result;
}

// Python's json.dumps (ensure_ascii, ', ' and ': '), for JSON columns and non-strings in STRING ones.
var ESCAPES = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
function pyString(s) {
  return '"' + s.replace(/[\\"]|[^ -~]/g, function (c) {
    return ESCAPES[c] || '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
  }) + '"';
}
// Python's repr(float): the shortest digits, with an exponent below 1e-4 and from 1e16.
function pyFloat(x) {
  if (x === 0) return 1 / x < 0 ? '-0.0' : '0.0';
  var m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:e([+-][0-9]+))?$/.exec(String(x));
  var digits = m[2] + (m[3] || ''), exp = m[2].length - 1 + Number(m[4] || 0);
  var lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead).replace(/0+$/, '');
  exp -= lead;
  if (exp < -4 || exp >= 16) {
    var e = Math.abs(exp);
    return m[1] + digits.charAt(0) + (digits.length > 1 ? '.' + digits.slice(1) : '') + 'e' + (exp < 0 ? '-' : '+') + (e < 10 ? '0' : '') + e;
  }
  if (exp < 0) return m[1] + '0.' + '0'.repeat(-exp - 1) + digits;
  if (digits.length <= exp + 1) return m[1] + digits + '0'.repeat(exp + 1 - digits.length) + '.0';
  return m[1] + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
}
function intText(t) { return t === '-0' ? '0' : t; }
function pyDumps(v) {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return pyString(v);
  if (v instanceof Num) return v.f ? pyFloat(v.v) : intText(v.t);
  if (Array.isArray(v)) return '[' + v.map(pyDumps).join(', ') + ']';
  var parts = [];
  v.forEach(function (item, key) { parts.push(pyString(key) + ': ' + pyDumps(item)); });
  return '{' + parts.join(', ') + '}';
}

// The row as JSON text, its numbers and timestamps as prepared (Raw).
function write(v) {
  if (v === null || v === true || v === false) return String(v);
  if (v instanceof Raw) return v.t;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(write).join(',') + ']';
  return '{' + Object.keys(v).map(function (k) { return JSON.stringify(k) + ':' + write(v[k]); }).join(',') + '}';
}

// Timestamps: functions/timestamps.py's rules, as integer microseconds since the epoch (the form
// use_table_schema documents for TIMESTAMP), exact beyond 2^53 (written from seconds and micros).
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  var era = Math.floor(y / 400), yoe = y - era * 400;
  var doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}
var MIN_SECONDS = daysFromCivil(1, 1, 1) * 86400, MAX_SECONDS = daysFromCivil(9999, 12, 31) * 86400 + 86399;
function daysIn(y, m) {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}
function pad6(n) { return ('00000' + n).slice(-6); }
function microsText(seconds, micros) {
  if (seconds >= 0) return seconds === 0 ? String(micros) : String(seconds) + pad6(micros);
  if (micros === 0) return String(seconds) + '000000';
  var whole = -seconds - 1, rest = 1000000 - micros;
  return '-' + (whole === 0 ? String(rest) : String(whole) + pad6(rest));
}
function timestamp(value) {
  var m = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!m) return null;
  var y = +m[1], mo = +m[2], d = +m[3], h = +m[4], mi = +m[5], s = +m[6], offset = 0;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return null;
  if (m[8] !== 'Z' && m[8] !== 'z') {
    var oh = +m[8].slice(1, 3), om = +m[8].slice(4, 6);
    if (oh > 23 || om > 59) return null;
    offset = (m[8].charAt(0) === '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  var seconds = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) return null;
  return new Raw(microsText(seconds, Number(((m[7] || '') + '000000').slice(0, 6))));
}

// Column values: rows.py's _scalar. A value that does not fit is null, its path noted in unfit.
// The decimal digits of an integral double below 2^63 (String() rounds those beyond 2^53).
function exactInteger(v) {
  var sign = v < 0 ? '-' : '', halvings = 0, digits, carry, i;
  v = Math.abs(v);
  while (v > 9007199254740991) { v /= 2; halvings++; }
  digits = String(v).split('').map(Number);
  while (halvings-- > 0) {
    for (carry = 0, i = digits.length - 1; i >= 0; i--) { var d = digits[i] * 2 + carry; digits[i] = d % 10; carry = d > 9 ? 1 : 0; }
    if (carry) digits.unshift(1);
  }
  return v === 0 ? '0' : sign + digits.join('');
}
function integer(v) {
  if (!v.f) {
    var digits = v.t.charAt(0) === '-' ? v.t.slice(1) : v.t;
    var limit = v.t.charAt(0) === '-' ? '9223372036854775808' : '9223372036854775807';
    return digits.length < 19 || (digits.length === 19 && digits <= limit) ? new Raw(intText(v.t)) : null;
  }
  return Number.isInteger(v.v) && v.v >= -9223372036854775808 && v.v < 9223372036854775808 ? new Raw(exactInteger(v.v)) : null;
}
function scalar(v, type) {
  switch (type) {
    case 'F': return v instanceof Num && isFinite(v.v) ? new Raw(pyFloat(v.v)) : null;
    case 'I': return v instanceof Num ? integer(v) : null;
    case 'B': return typeof v === 'boolean' ? v : null;
    case 'T': return timestamp(v);
    case 'J': return pyDumps(v);
    default: return typeof v === 'string' ? v : pyDumps(v);
  }
}
function note(unfit, path) { if (unfit.indexOf(path) < 0) unfit.push(path); }
function one(field, v, unfit, path) {
  if (v === undefined || v === null) return null;
  var converted = field[2] === 'R' ? (v instanceof Map ? fill(field[4], v, unfit, path + '.') : null) : scalar(v, field[2]);
  if (converted === null) note(unfit, path);
  return converted;
}
function column(field, v, unfit, path) {
  if (!field[3]) return one(field, v, unfit, path);
  if (v !== undefined && v !== null && !Array.isArray(v)) note(unfit, path);
  var items = [];
  (Array.isArray(v) ? v : []).forEach(function (item) {
    var converted = one(field, item, unfit, path);
    if (converted !== null) items.push(converted);
  });
  return items;
}
// Each field is [column, DT key, type code, repeated (0/1), record fields].
function fill(fields, data, unfit, prefix) {
  var row = {};
  fields.forEach(function (f) { row[f[0]] = column(f, data.get(f[1]), unfit, prefix + f[0]); });
  return row;
}

function field(event, name, pattern, where) {
  var v = event.get(name);
  if (typeof v !== 'string') refuse(where + name + ' is missing or not a string');
  if (!pattern.test(v)) refuse(where + name + ' is malformed');
  return v;
}
function label(labels, key, unfit, path) {
  var v = labels.get(key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') { note(unfit, path); return null; }
  return v;
}
function own(attributes, key) {
  return Object.prototype.hasOwnProperty.call(attributes, key) ? attributes[key] : null;
}

function dtEventToRow(message, metadata) {
  var text = message.data, attributes = message.attributes || {};
  metadata = metadata || {};
  if (typeof text !== 'string') refuse('the message data is not a string');
  if (tooDeep(text)) refuse('the body is nested too deeply');
  var document = parseJson(text), event, where = 'event.', bare = false;
  if (!(document instanceof Map)) refuse('the body is not a JSON object');
  if (!document.has('event') && (document.has('eventId') || document.has('eventType') || document.has('targetName'))) {
    event = document; where = ''; bare = true;
  } else {
    event = document.get('event');
    if (!(event instanceof Map)) {
      refuse('event is missing or not an object, and the body is not a bare DT event either' +
        ' (eventId, eventType, targetName, timestamp at the top level)');
    }
  }
  var eventId = field(event, 'eventId', EVENT_ID, where), eventType = field(event, 'eventType', EVENT_TYPE, where);
  var target = typeof event.get('targetName') === 'string' ? DEVICE_NAME.exec(event.get('targetName')) : null;
  if (!target) refuse(where + 'targetName is missing or not projects/<project>/devices/<device>');
  var when = timestamp(event.get('timestamp'));
  if (when === null) refuse(where + 'timestamp is missing or not an RFC 3339 timestamp');
  if (event.has('data') && !(event.get('data') instanceof Map)) refuse(where + 'data is not an object');
  var labels = bare ? null : document.get('labels'), meta = bare ? null : document.get('metadata');
  if (labels === undefined || labels === null) labels = new Map();
  else if (!(labels instanceof Map)) refuse('labels is not an object');
  if (meta !== undefined && meta !== null && !(meta instanceof Map)) refuse('metadata is not an object');
  meta = meta || new Map();

  var unfit = [], spec = TYPES.get(eventType) || SCHEMA.unknown, source;
  var deviceType = meta.get('deviceType'), productNumber = meta.get('productNumber');
  var publishTime = metadata.publish_time === undefined ? null : metadata.publish_time;
  var row = {
    event_id: eventId,
    event_type: eventType,
    device_id: target[2],
    project_id: target[1],
    timestamp: when,
    device_type: deviceType === undefined || deviceType === null ? null : scalar(deviceType, 'S'),
    product_number: productNumber === undefined || productNumber === null ? null : scalar(productNumber, 'S') || null,
    device_name: label(labels, 'name', unfit, 'device_name'),
    device_description: label(labels, 'description', unfit, 'device_description'),
    labels: pyDumps(labels),
    raw: text,
    source: own(attributes, 'source'),
    pubsub_message_id: metadata.message_id === undefined ? null : metadata.message_id,
    published_at: one([null, null, 'T'], publishTime, unfit, 'published_at'),
    ingested_at: new Raw(String(Date.now()) + '000')
  };
  if (spec === SCHEMA.unknown) {
    source = event;
  } else {
    // event.data.<eventType>, or event.data itself for the types DT does not key by name
    var payload = event.get('data');
    source = payload instanceof Map ? (payload.has(eventType) ? payload.get(eventType) : payload) : null;
    if (!(source instanceof Map)) source = new Map();
  }
  row[spec[0]] = fill(spec[1], source, unfit, spec[0] + '.');
  row.unfit_columns = unfit;
  return { data: write(row), attributes: attributes };
}

if (typeof module !== 'undefined') module.exports = { dtEventToRow: dtEventToRow };

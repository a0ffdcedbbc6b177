namespace LuaXmpp.Tests.Libraries;

public sealed class DataLibrariesTests : LuaTestState
{
    [Fact]
    public void Jid_SplitsJoinsAndPreps()
    {
        Run("""
            local jid = require "util.jid"
            local n, h, r = jid.split("romeo@montague.lit/orchard/tree")
            assert(n == "romeo" and h == "montague.lit" and r == "orchard/tree")
            assert(select("#", jid.split("host")) == 3 and jid.host("host") == "host")
            assert(jid.split("@host") == nil and jid.host("@host") == nil)
            assert(jid.host("a@b@c") == nil)
            assert(jid.host("host/") == nil)
            assert(jid.resource("host/r@x") == "r@x")
            assert(jid.bare("a@b/c") == "a@b" and jid.bare("b/c") == "b")
            assert(jid.join("a", "b", "c") == "a@b/c" and jid.join(nil, "b") == "b" and jid.join("a") == nil)
            assert(jid.prep("JuLiet@Capulet.LIT./Balcony") == "juliet@capulet.lit/Balcony")
            assert(jid.prep("a b@host") == nil)
            assert(jid.prep(".") == nil)
            assert(jid.compare("a@b/c", "b") and jid.compare("a@b/c", "a@b") and not jid.compare("a@b", "a@b/c"))
            assert(jid.escape("d'artagnan@x y") == "d\\27artagnan\\40x\\20y")
            assert(jid.unescape(jid.escape("c:\\net")) == "c:\\net")
            assert(jid.escape("\\5c") == "\\5c5c" and jid.unescape("\\5c5c") == "\\5c")
            """);
    }

    [Fact]
    public void Datetime_FormatsAndParsesXep0082()
    {
        Run("""
            local dt = require "util.datetime"
            assert(dt.datetime(0) == "1970-01-01T00:00:00Z")
            assert(dt.datetime(1000000000) == "2001-09-09T01:46:40Z")
            assert(dt.date(1000000000) == "2001-09-09" and dt.time(1000000000) == "01:46:40")
            assert(dt.legacy(1000000000) == "20010909T01:46:40")
            assert(dt.datetime(1.5) == "1970-01-01T00:00:01Z")
            assert(dt.parse("2001-09-09T01:46:40Z") == 1000000000)
            assert(math.type(dt.parse("2001-09-09T01:46:40.123456Z")) == "integer")
            assert(dt.parse("2001-09-09T01:46:40.5Z") == 1000000000)
            assert(dt.parse("2001-09-09T03:46:40+02:00") == 1000000000)
            assert(dt.parse("2001-09-08T20:16:40-05:30") == 1000000000)
            assert(dt.parse("20010909T01:46:40") == 1000000000)
            assert(dt.parse("1969-12-31T23:59:59Z") == -1)
            assert(dt.parse("2000-02-29T00:00:00Z") == 951782400)
            assert(dt.parse("not a date") == nil and dt.parse("2001-09-09T01:46:40+2") == nil and dt.parse(nil) == nil)
            for _, t in ipairs({ 0, 86399, 951782400, 1700000000, 4102444800 }) do
              assert(dt.parse(dt.datetime(t)) == t, t)
            end
            """);
    }

    [Fact]
    public void Rsm_ParsesAndGeneratesSets()
    {
        Run("""
            local st = require "util.stanza"
            local rsm = require "util.rsm"
            local NS = "http://jabber.org/protocol/rsm"
            local q = st.stanza("query", { xmlns = "urn:xmpp:mam:2" })
              :tag("set", { xmlns = NS }):text_tag("max", "10", { xmlns = NS }):tag("before", { xmlns = NS }):up():up()
            local r = rsm.get(q)
            assert(r.max == 10 and r.before == true, require "util.serialization".serialize(r))
            assert(rsm.get(st.stanza("query")) == nil)
            local set = rsm.generate({ first = { index = 0, "a" }, last = "z", count = 5, max = 3, unknown = "x" })
            assert(set.attr.xmlns == NS)
            local back = rsm.parse(set)
            assert(back.first[1] == "a" and back.first.index == 0 and back.last == "z" and back.count == 5 and back.max == 3)
            assert(back.unknown == nil)
            local after = rsm.parse(rsm.generate({ after = "id1", before = "id2" }))
            assert(after.after == "id1" and after.before == "id2")
            """);
    }

    [Fact]
    public void Dataforms_BuildsFormsAndReadsTypedData()
    {
        Run("""
            local st = require "util.stanza"
            local dataforms = require "util.dataforms"
            local layout = dataforms.new {
              title = "Query", instructions = "Fill in",
              { name = "FORM_TYPE", type = "hidden", value = "urn:xmpp:mam:2" },
              { name = "with", type = "jid-single", label = "With" },
              { name = "start", type = "text-single", datatype = "xs:dateTime" },
              { name = "max", type = "text-single", datatype = "xs:integer", range_min = 1, range_max = 50 },
              { name = "flag", type = "boolean" },
              { name = "tags", type = "list-multi", options = { "a", { label = "B", value = "b", default = true } } },
              { name = "needed", type = "text-single", required = true },
            }
            local form = layout:form()
            assert(form.attr.xmlns == "jabber:x:data" and form.attr.type == "form")
            assert(form:child_with_name("title"):get_text() == "Query")
            assert(dataforms.get_type(form) == "urn:xmpp:mam:2")
            local f = form.tags[4]
            assert(f.attr.var == "with" and f.attr.label == "With" and f.attr.type == "jid-single")
            local tags_field
            for _, field in ipairs(form.tags) do if field.attr.var == "tags" then tags_field = field end end
            assert(tags_field and tags_field:get_child_text("value") == "b", "default option is the value")
            local submit = layout:form({ with = "Romeo@Montague.LIT", start = "2001-09-09T01:46:40Z", max = "20",
              flag = "true", tags = { "a", "b" }, needed = "x" }, "submit")
            assert(submit.attr.type == "submit" and submit:get_child("title") == nil)
            local data, errors, present = layout:data(submit)
            assert(errors == nil, errors and next(errors))
            assert(data.with == "romeo@montague.lit")
            assert(data.start == 1000000000)
            assert(data.max == 20 and math.type(data.max) == "integer")
            assert(data.flag == true)
            assert(#data.tags == 2 and data.tags[2] == "b")
            assert(present.with and present.needed)
            """);
    }

    [Fact]
    public void Dataforms_ReportsMissingAndInvalidValues()
    {
        Run("""
            local dataforms = require "util.dataforms"
            local layout = dataforms.new {
              { name = "needed", type = "text-single", required = true },
              { name = "max", type = "text-single", datatype = "xs:integer", range_max = 5 },
              { name = "when", type = "text-single", datatype = "xs:dateTime" },
              { name = "who", type = "jid-single" },
              { name = "kept", type = "text-single" },
            }
            local submitted_fields = dataforms.new { layout[1], layout[2], layout[3], layout[4] }
            local submit = submitted_fields:form({ max = "9", when = "yesterday", who = "@bad" }, "submit")
            local data, errors = layout:data(submit, { kept = "old" })
            assert(errors.needed == "Required value missing")
            assert(errors.max == "out of bounds" and data.max == nil)
            assert(errors.when == "invalid timestamp")
            assert(errors.who == "Invalid JID: @bad")
            assert(data.kept == "old")
            local _, e2 = layout:data(layout:form({ max = "x", needed = "y" }, "submit"))
            assert(e2.max == "not a number" and e2.needed == nil)
            """);
    }

    [Fact]
    public void Json_RoundTripsWithProsodyConventions()
    {
        Run("""
            local json = require "util.json"
            local array = require "util.array"
            assert(json.encode({}) == "{}")
            assert(json.encode(array()) == "[]")
            assert(json.encode({ 1, 2, 3 }) == "[1,2,3]")
            assert(json.encode({ a = json.null }) == '{"a":null}')
            assert(json.encode("a\"b\n\1") == '"a\\"b\\n\\u0001"')
            assert(json.encode({ true, false }) == "[true,false]")
            assert(json.encode_ordered({ b = 1, a = 2 }) == '{"a":2,"b":1}')
            local mixed = json.decode(json.encode({ 1, 2, x = "y", [10] = "ten" }))
            assert(mixed[1] == 1 and mixed[2] == 2 and mixed.x == "y" and mixed[10] == "ten")
            local v = json.decode(' { "a" : [1, 2.5, "s", null, true, {}], "u": "\\u00e9\\ud83d\\ude00" } ')
            assert(v.a[1] == 1 and v.a[2] == 2.5 and v.a[3] == "s" and v.a[4] == json.null and v.a[5] == true)
            assert(getmetatable(v.a) == getmetatable(array()))
            assert(v.u == "\195\169\240\159\152\128")
            assert(json.encode(json.decode("[]")) == "[]")
            assert(json.decode("[1,]") == nil and json.decode("{") == nil and json.decode("1 2") == nil)
            assert(json.decode('"\\x"') == nil)
            """);
    }

    [Fact]
    public void Serialization_RoundTripsAndHonoursDebugPreset()
    {
        Run("""
            local ser = require "util.serialization"
            local value = { 1, "two", x = { y = true }, ["not id"] = 1.5, [true] = "t" }
            local back = ser.deserialize(ser.serialize(value))
            assert(back[1] == 1 and back[2] == "two" and back.x.y == true and back["not id"] == 1.5 and back[true] == "t")
            assert(ser.deserialize(ser.serialize("a\0b\n\255")) == "a\0b\n\255")
            local one = ser.new("debug")({ a = 1, f = print })
            assert(not one:find("\n") and one:find("__type", 1, true), one)
            assert(not pcall(ser.serialize, { f = print }))
            local t = {}; t.self = t
            assert(not pcall(ser.serialize, t))
            assert(ser.deserialize("os.exit()") == nil)
            """);
    }

    [Fact]
    public void Format_NeverRaises()
    {
        Run("""
            local format = require "util.format".format
            assert(format("%s %s", "a") == "a (nil)", format("%s %s", "a"))
            assert(format("%d", 1.5) == "[1.5]")
            assert(format("%d", 3) == "3")
            assert(format("%d", "x") == "[x]")
            assert(format("x", 1, nil) == "x [1] [(nil)]", format("x", 1, nil))
            assert(format("%s", "a\1b") == "a\226\144\129b")
            assert(format("%q", { 1 }):find("{", 1, true))
            assert(format("%s", setmetatable({}, { __tostring = function() return "T" end })) == "T")
            assert(format("100%%") == "100%")
            """);
    }

    [Fact]
    public void ArraySetIterators_BehaveAsProsody()
    {
        Run("""
            local array = require "util.array"
            local a = array { 3, 1, 2 }
            assert(tostring(array.sort(a)) == "{1, 2, 3}" and a[1] == 3, "array.sort copies")
            a:sort()
            assert(a[1] == 1)
            assert((a / function(x) if x > 1 then return x * 10 end end)[1] == 20)
            assert(array.map(a, tostring)[3] == "3")
            a:filter(function(x) return x ~= 2 end)
            assert(#a == 2 and a[2] == 3)
            assert(array { 1, 2 } == array { 1, 2 })
            assert(#array.collect(ipairs({ 5, 6 })) == 2)
            local set = require "util.set"
            local s = set.new { "a", "b" }
            assert(s:contains("a") and not s:contains("c"))
            local u = s + set.new { "c" }
            local n = 0; for _ in u do n = n + 1 end
            assert(n == 3 and (u - s):contains("c") and set.intersection(u, s) == s)
            local it = require "util.iterators"
            assert(it.count(pairs({ a = 1, b = 2 })) == 2)
            local keys = {}
            for k in it.sorted_pairs({ b = 1, a = 2, c = 3 }) do keys[#keys + 1] = k end
            assert(table.concat(keys) == "abc")
            local r = {}
            for i, v in it.reverse(ipairs({ "x", "y" })) do r[#r + 1] = v end
            assert(table.concat(r) == "yx")
            local joined = {}
            for _, v in it.join(ipairs({ 1 })):append(ipairs({ 2, 3 })) do joined[#joined + 1] = v end
            assert(#joined == 3)
            """);
    }
}

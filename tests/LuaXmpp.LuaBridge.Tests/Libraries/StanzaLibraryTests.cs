namespace LuaXmpp.Tests.Libraries;

public sealed class StanzaLibraryTests : LuaTestState
{
    [Fact]
    public void Message_SerializesWithBody_WhenBodyGiven()
    {
        Run("""
            local st = require "util.stanza"
            local m = st.message({ to = "juliet@capulet.lit", type = "chat" }, "Hi")
            assert(m.name == "message" and m.attr.type == "chat")
            assert(m.tags[1].name == "body" and m[1] == m.tags[1])
            assert(m:get_child_text("body") == "Hi")
            local s = tostring(st.message({ id = "1" }, "x"))
            assert(s == "<message id='1'><body>x</body></message>", s)
            """);
    }

    [Fact]
    public void Tostring_EscapesTextAndAttributes()
    {
        Run("""
            local st = require "util.stanza"
            local s = tostring(st.stanza("a", { v = "<'&\">" }):text("1 < 2 & 'q' \"x\" >"))
            assert(s == "<a v='&lt;&apos;&amp;&quot;&gt;'>1 &lt; 2 &amp; &apos;q&apos; &quot;x&quot; &gt;</a>", s)
            assert(st.xml_escape("<&>") == "&lt;&amp;&gt;")
            """);
    }

    [Fact]
    public void Tostring_OmitsXmlnsEqualToParent_AndPrefixesNamespacedAttributes()
    {
        Run("""
            local st = require "util.stanza"
            local s = st.stanza("iq", { xmlns = "jabber:client", id = "1", type = "get" })
              :tag("query", { xmlns = "jabber:client" }):up()
              :tag("ping", { xmlns = "urn:xmpp:ping", ["urn:x\1a"] = "v" })
            local out = tostring(s)
            assert(out:find("<query/>", 1, true), out)
            assert(out:find("xmlns:ns1='urn:x' ns1:a='v'", 1, true), out)
            assert(out:find("xmlns='urn:xmpp:ping'", 1, true), out)
            local l = st.stanza("body", { ["xml:lang"] = "en" })
            assert(tostring(l) == "<body xml:lang='en'/>", tostring(l))
            """);
    }

    [Fact]
    public void Builder_TagTextUp_NestsAndReturnsToTop()
    {
        Run("""
            local st = require "util.stanza"
            local s = st.iq({ type = "set", id = "a" })
              :tag("query", { xmlns = "jabber:iq:roster" })
                :tag("item", { jid = "a@b" }):text_tag("group", "G"):up()
              :up()
            assert(s:at_top())
            s:tag("x"):text("t")
            assert(not s:at_top())
            s:reset()
            assert(s:at_top())
            local item = s:get_child("query", "jabber:iq:roster"):child_with_name("item")
            assert(item.attr.jid == "a@b")
            assert(item:get_child_text("group") == "G")
            assert(tostring(s):find("<query xmlns='jabber:iq:roster'><item jid='a@b'><group>G</group></item></query><x>t</x></iq>", 1, true), tostring(s))
            """);
    }

    [Fact]
    public void Constructors_RejectInvalidInput()
    {
        Run("""
            local st = require "util.stanza"
            assert(not pcall(st.stanza, ""))
            assert(not pcall(st.stanza, "a b"))
            assert(not pcall(st.stanza, "a", { x = 1 }))
            assert(not pcall(st.stanza, "a", { x = "\0" }))
            assert(not pcall(st.stanza, "a", { x = "\255" }))
            assert(not pcall(function() st.stanza("a"):text("\7") end))
            assert(not pcall(st.iq, { type = "get" }))
            assert(not pcall(st.iq, { id = "x" }))
            assert(not pcall(st.iq))
            assert(pcall(st.stanza, "a", { ["urn:x\1y"] = "tab\there" }))
            """);
    }

    [Fact]
    public void Navigation_FindsChildrenByNameAndNamespace()
    {
        Run("""
            local st = require "util.stanza"
            local m = st.message()
              :tag("body"):text("b"):up()
              :tag("x", { xmlns = "ns1" }):up()
              :tag("x", { xmlns = "ns2", a = "2" }):up()
            assert(m:get_child("body"):get_text() == "b")
            assert(m:get_child("x") == nil, "x is not in the parent's namespace")
            assert(m:get_child("x", "ns2").attr.a == "2")
            assert(m:get_child(nil, "ns1").name == "x")
            assert(m:child_with_name("x").attr.xmlns == "ns1")
            assert(m:child_with_ns("ns2").attr.a == "2")
            assert(m:get_child_attr("x", "ns2", "a") == "2")
            assert(m:get_child_with_attr("x", "ns2", "a", "2") ~= nil)
            local n = 0
            for tag in m:childtags("x", "ns1") do n = n + 1 end
            assert(n == 1)
            n = 0
            for tag in m:childtags() do n = n + 1 end
            assert(n == 1, "only body shares the parent's namespace")
            local all = {}
            for child in m:children() do all[#all + 1] = child end
            assert(#all == 3)
            """);
    }

    [Fact]
    public void Find_FollowsPathsToElementsTextAndAttributes()
    {
        Run("""
            local st = require "util.stanza"
            local ns = "http://jabber.org/protocol/pubsub#event"
            local m = st.message({ id = "m1" })
              :tag("event", { xmlns = ns })
                :tag("items", { xmlns = ns, node = "n" })
                  :tag("item", { xmlns = ns, id = "i1" }):text("payload")
            assert(m:find("{http://jabber.org/protocol/pubsub#event}event/items@node") == "n")
            assert(m:find("{http://jabber.org/protocol/pubsub#event}event/items/item@id") == "i1")
            assert(m:find("{http://jabber.org/protocol/pubsub#event}event/items/item#") == "payload")
            assert(m:find("{http://jabber.org/protocol/pubsub#event}event/items").name == "items")
            assert(m:find("@id") == "m1")
            assert(m:find("{urn:other}event/items") == nil)
            assert(m:find("nothing/here") == nil)
            """);
    }

    [Fact]
    public void Reply_SwapsAddressesAndTurnsIqIntoResult()
    {
        Run("""
            local st = require "util.stanza"
            local q = st.iq({ from = "a@b/c", to = "b", id = "7", type = "get" }):query("jabber:iq:version")
            local r = st.reply(q)
            assert(r.attr.to == "a@b/c" and r.attr.from == "b" and r.attr.id == "7" and r.attr.type == "result")
            assert(#r.tags == 0)
            local m = st.reply(st.message({ from = "x@y", type = "chat" }))
            assert(m.attr.type == "chat" and m.attr.to == "x@y")
            assert(not pcall(st.reply, {}))
            """);
    }

    [Fact]
    public void ErrorReply_BuildsRfc6120ErrorWithTextAndBy()
    {
        Run("""
            local st = require "util.stanza"
            local q = st.iq({ from = "a@b/c", to = "b", id = "7", type = "get" })
            local e = st.error_reply(q, "cancel", "item-not-found", "No such thing", "pubsub.b")
            assert(e.attr.type == "error" and e.attr.to == "a@b/c")
            local t, c, text = e:get_error()
            assert(t == "cancel" and c == "item-not-found" and text == "No such thing", tostring(e))
            assert(e:get_child("error").attr.by == "pubsub.b")
            local same = st.error_reply(q, "cancel", "item-not-found", nil, "b")
            assert(same:get_child("error").attr.by == nil, "by equal to the replying entity is dropped")
            assert(not pcall(st.error_reply, e, "cancel", "x"))
            """);
    }

    [Fact]
    public void ErrorReply_AcceptsUtilErrorObjects()
    {
        Run("""
            local st = require "util.stanza"
            local errors = require "util.error"
            local q = st.message({ from = "a@b", to = "c@d", type = "chat" })
            local err = errors.new({ type = "modify", condition = "policy-violation", text = "no",
              extra = { namespace = "urn:app", condition = "too-big" } }, { by = "d" })
            local e = st.error_reply(q, err)
            local t, c, text, extra = e:get_error()
            assert(t == "modify" and c == "policy-violation" and text == "no", tostring(e))
            assert(extra and extra.name == "too-big" and extra.attr.xmlns == "urn:app")
            assert(e:get_child("error").attr.by == "d")
            local gone = st.error_reply(q, { type = "cancel", condition = "gone", extra = { uri = "xmpp:new@place" } })
            assert(gone:find("error/{urn:ietf:params:xml:ns:xmpp-stanzas}gone#") == "xmpp:new@place", tostring(gone))
            """);
    }

    [Fact]
    public void AddError_AppendsAnErrorToAnyElement_AsSasl2ModulesUseIt()
    {
        // mod_sasl2_sm: st.stanza("failed", { xmlns = sm }):add_error(err) with an util.error carrying context.h.
        Run("""
            local st = require "util.stanza"
            local errors = require "util.error"
            local err = errors.new({ condition = "item-not-found", text = "Unknown session" }, { h = 3 })
            local failed = st.stanza("failed", { xmlns = "urn:xmpp:sm:3" }):add_error(err)
            local e = failed.tags[1] -- no xmlns of its own, as in Prosody (so get_child("error") does not see it under another namespace)
            assert(e and e.attr.type == "cancel", tostring(failed))
            assert(e:get_child("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"), tostring(failed))
            assert(e:get_child_text("text", "urn:ietf:params:xml:ns:xmpp-stanzas") == "Unknown session", tostring(failed))
            assert(failed:at_top(), "add_error returns to where it started")
            local bound = st.stanza("failed", { xmlns = "urn:xmpp:bind:0" })
              :add_error({ type = "modify", condition = "conflict", text = "taken" })
            assert(bound.tags[1].name == "error" and bound.tags[1].attr.type == "modify")
            -- error_reply stays inside <error/>, for an application-specific condition after it
            local q = st.iq({ from = "a@b/c", to = "b", id = "1", type = "set" })
            local r = st.error_reply(q, "cancel", "not-allowed"):tag("closed-node", { xmlns = "urn:app" }):up()
            assert(r:get_child("error"):get_child("closed-node", "urn:app"), tostring(r))
            """);
    }

    [Fact]
    public void GetError_DefaultsToUndefinedCondition()
    {
        Run("""
            local st = require "util.stanza"
            local s = st.message({ type = "error" }):tag("error", { type = "wait" })
            local t, c = s:get_error()
            assert(t == "wait" and c == "undefined-condition")
            assert(st.message():get_error() == nil)
            """);
    }

    [Fact]
    public void Clone_IsDeepAndIndependent()
    {
        Run("""
            local st = require "util.stanza"
            local a = st.message({ to = "x" }):tag("body"):text("hi"):up():tag("x", { xmlns = "n" })
            local b = st.clone(a)
            assert(st.is_stanza(b) and tostring(a) == tostring(b))
            b.attr.to = "y"
            b:get_child("body")[1] = "changed"
            b.tags[2].attr.xmlns = "m"
            assert(a.attr.to == "x" and a:get_child_text("body") == "hi" and a.tags[2].attr.xmlns == "n")
            assert(b[1] == b.tags[1] and b[2] == b.tags[2])
            local top = st.clone(a, true)
            assert(#top == 0 and top.attr.to == "x")
            assert(not pcall(st.clone, {}))
            """);
    }

    [Fact]
    public void Preserialize_RoundTripsThroughPlainTables()
    {
        Run("""
            local st = require "util.stanza"
            local a = st.message({ to = "x", ["urn:q\1w"] = "1" }):tag("body"):text("a&b"):up():tag("y", { xmlns = "n" }):text("t")
            local plain = st.preserialize(a)
            assert(getmetatable(plain) == nil and getmetatable(plain[1]) == nil)
            local b = st.deserialize(plain)
            assert(st.is_stanza(b) and st.is_stanza(b.tags[1]))
            -- Attribute order follows pairs(), so compare parts rather than whole strings.
            assert(b.attr.to == "x" and b.attr["urn:q\1w"] == "1")
            assert(tostring(b.tags[1]) == "<body>a&amp;b</body>" and tostring(b.tags[2]) == "<y xmlns='n'>t</y>")
            assert(#b == 2 and b[1] == b.tags[1])
            local legacy = st.deserialize({ name = "m", attr = { ["urn:q|w"] = "1" } })
            assert(legacy.attr["urn:q\1w"] == "1")
            """);
    }

    [Fact]
    public void IsStanza_ComparesMetatableIdentity()
    {
        Run("""
            local st = require "util.stanza"
            assert(st.is_stanza(st.stanza("a")))
            assert(not st.is_stanza({ name = "a", attr = {}, tags = {} }))
            assert(st.is_stanza(setmetatable({ name = "a", attr = {}, tags = {} }, st.stanza_mt)))
            assert(getmetatable(st.presence()) == st.stanza_mt)
            assert(require "util.stanza" == st)
            """);
    }

    [Fact]
    public void RemoveChildrenAndMaptags_KeepTagsAndChildrenInStep()
    {
        Run("""
            local st = require "util.stanza"
            local m = st.message():tag("a"):up():text("t"):tag("b", { xmlns = "n" }):up():tag("a"):up()
            m:remove_children("a")
            assert(#m.tags == 1 and m.tags[1].name == "b" and #m == 2 and m[1] == "t", tostring(m))
            m:maptags(function(tag) return st.stanza("c") end)
            assert(m.tags[1].name == "c" and m[2] == m.tags[1])
            m:remove_children(nil, "n")
            assert(#m.tags == 1)
            m:remove_children()
            assert(#m.tags == 0 and #m == 1)
            """);
    }

    [Fact]
    public void TopTagAndIndent_RenderAsProsody()
    {
        Run("""
            local st = require "util.stanza"
            local m = st.message({ to = "x" }):tag("body"):text("hi")
            assert(m:top_tag() == "<message to='x'>", m:top_tag())
            assert(st.presence():top_tag() == "<presence>")
            local pretty = tostring(m:indent())
            assert(pretty == "<message to='x'>\n\t<body>hi</body>\n</message>", pretty)
            assert(m:pretty_print() == tostring(m))
            assert(m:get_text() == nil and m.tags[1]:get_text() == "hi")
            """);
    }
}

namespace LuaXmpp.Tests.Fuzz;

/// <summary>
/// Client-to-server transcripts the fuzzer starts from: what real clients send on a c2s stream
/// (RFC 6120, RFC 6121 and common XEPs), each one a well-formed stream the parser must handle cleanly.
/// The simulated session restarts the stream after &lt;starttls/&gt; and after SASL succeeds (see
/// <see cref="StreamFuzzer"/>), so the transcripts send a fresh header at those points.
/// </summary>
internal static class StreamSeeds
{
    private const string Decl = "<?xml version='1.0'?>";
    private const string Open =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";
    private const string Close = "</stream:stream>";

    private const string PlainLogin =
        Decl + Open + "\n<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldABwYXNzd29yZA==</auth>" +
        Decl + Open + "<iq type='set' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>";

    public static readonly string[] Transcripts =
    [
        // 1. SASL PLAIN, restart, bind, session, initial presence, close (RFC 6120 §6, §7; RFC 3921 session).
        PlainLogin +
        "<iq type='set' id='sess_1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>" +
        "<presence/>\n" + Close,

        // 2. STARTTLS, restart, SCRAM-SHA-1 with challenge/response, restart, bind.
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" +
        "<stream:stream xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" to=\"example.com\" version=\"1.0\">\r\n" +
        "<starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/>" +
        "<stream:stream xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" to=\"example.com\" version=\"1.0\">\r\n" +
        "<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"SCRAM-SHA-1\">biwsbj1qdWxpZXQscj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQQ==</auth>\r\n" +
        "<response xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\">Yz1iaXdzLHI9b01zVEFBd0FBQUFNQUFBQU5QMFRBQUFBQUFCUFUwQUFlMTI0Njk1Yi02OWE5LTRkZTYtOWMzMC1iNTFiMzgwOGM1OWUscD1VQTU3dE0vU3ZwQVRCa0gyRlhzMFdEWHZKWXc9</response>" +
        "<stream:stream xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" to=\"example.com\" version=\"1.0\">" +
        "<iq type=\"set\" id=\"b\"><bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"/></iq>",

        // 3. Roster get, roster set with groups, subscription handshake (RFC 6121 §2, §3).
        PlainLogin +
        "<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>" +
        "<iq type='set' id='r2'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse'><group>Servants</group><group>Capulets &amp; co</group></item></query></iq>" +
        "<presence to='nurse@example.com' type='subscribe'/><presence to='romeo@example.net' type='subscribed'/>" +
        "<iq type='set' id='r3'><query xmlns='jabber:iq:roster'><item jid='tybalt@example.com' subscription='remove'/></query></iq>",

        // 4. Messages with Unicode, escapes, character references and CDATA.
        PlainLogin +
        "<message to='romeo@example.net/orchard' type='chat' id='m1' xml:lang='fr'><body>Café ☕ 中文 😀 עברית ‏x‎ e\u0301</body><thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>" +
        "<message to='romeo@example.net' type='chat' id=\"m2\"><body>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#233;&#x1F600;&#x2603;</body><subject>é\n\tx</subject></message>" +
        "<message to='romeo@example.net' type='normal'><body><![CDATA[if (a < b && c > d) { return ']]'; }]]></body><body xml:lang='de'>Grüße</body></message>",

        // 5. Presence with priority, caps, vCard avatar hash, MUC join with history (XEP-0115, XEP-0153, XEP-0045).
        PlainLogin +
        "<presence><show>away</show><status>On the balcony\nback soon</status><priority>5</priority>" +
        "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://gajim.org' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>" +
        "<x xmlns='vcard-temp:x:update'><photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x></presence>" +
        "<presence to='coven@chat.shakespeare.lit/thirdwitch'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='20'/><password>cauldronburn</password></x></presence>" +
        "<message to='coven@chat.shakespeare.lit' type='groupchat' id='g1'><body>Harpier cries: 'tis time, 'tis time.</body></message>",

        // 6. Disco, version, ping, time, last activity (XEP-0030, -0092, -0199, -0202, -0012).
        PlainLogin +
        "<iq type='get' id='d1' to='example.com'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>" +
        "<iq type='get' id='d2' to='example.com'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>" +
        "<iq type='get' id='v1' to='example.com'><query xmlns='jabber:iq:version'/></iq>" +
        "<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>" +
        "<iq type='result' id='t1' to='romeo@example.net/orchard'><time xmlns='urn:xmpp:time'><tzo>-06:00</tzo><utc>2006-12-19T17:58:35Z</utc></time></iq>" +
        "<iq type='get' id='l1' to='romeo@example.net'><query xmlns='jabber:iq:last'/></iq>",

        // 7. Stream management nonzas: enable, request, acks, resume (XEP-0198).
        PlainLogin +
        "<enable xmlns='urn:xmpp:sm:3' resume='true'/>" +
        "<message to='romeo@example.net' type='chat'><body>one</body></message>" +
        "<r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='3'/>" +
        "<presence/><r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='4294967295'/>" +
        " \n\t ",

        // 8. MAM query with a data form and result set management (XEP-0313, XEP-0004, XEP-0059).
        PlainLogin +
        "<iq type='set' id='juliet1'><query xmlns='urn:xmpp:mam:2' queryid='f27'>" +
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" +
        "<field var='with'><value>juliet@capulet.lit</value></field><field var='start'><value>2010-08-07T00:00:00Z</value></field></x>" +
        "<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><after>09af3-cc343-b409f</after></set></query></iq>" +
        "<iq type='get' id='form1'><query xmlns='urn:xmpp:mam:2'/></iq>" +
        "<iq type='set' id='prefs'><prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>romeo@montague.lit</jid></always><never/></prefs></iq>",

        // 9. Carbons, client state indication, blocking (XEP-0280, -0352, -0191).
        PlainLogin +
        "<iq type='set' id='enable1'><enable xmlns='urn:xmpp:carbons:2'/></iq>" +
        "<inactive xmlns='urn:xmpp:csi:0'/><active xmlns='urn:xmpp:csi:0'/>" +
        "<iq type='set' id='block1'><block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></block></iq>" +
        "<iq type='get' id='blocklist1'><blocklist xmlns='urn:xmpp:blocking'/></iq>",

        // 10. PEP publish with publish-options (XEP-0163, XEP-0084, XEP-0060).
        PlainLogin +
        "<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'>" +
        "<item id='111f4b3c50d7b0df729d299bc6f8e9ef9066971f'><metadata xmlns='urn:xmpp:avatar:metadata'>" +
        "<info bytes='12345' id='111f4b3c50d7b0df729d299bc6f8e9ef9066971f' height='64' type='image/png' width='64'/></metadata></item></publish>" +
        "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
        "<field var='pubsub#access_model'><value>presence</value></field></x></publish-options></pubsub></iq>",

        // 11. vCard set with a base64 photo, private XML storage (XEP-0054, XEP-0049).
        PlainLogin +
        "<iq type='set' id='v2'><vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN><N><FAMILY>Capulet</FAMILY><GIVEN>Juliet</GIVEN></N>" +
        "<PHOTO><TYPE>image/png</TYPE><BINVAL>" + string.Concat(Enumerable.Repeat("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\n", 20)) + "</BINVAL></PHOTO></vCard></iq>" +
        "<iq type='get' id='priv1'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>",

        // 12. Explicit prefixes, mixed quotes, whitespace keepalives and CRLFs inside stanzas.
        PlainLogin +
        "\r\n \r\n<c:message xmlns:c='jabber:client' c:to='x' to=\"romeo@example.net\" type='chat'>\r\n  <c:body>prefixed</c:body>\r\n" +
        "  <x:x xmlns:x='urn:example:x' x:attr='v&amp;1' attr='plain'><x:y/></x:x>\r\n</c:message>\n" +
        "<iq type='get' id='w' ><ping xmlns = 'urn:xmpp:ping' /></iq >",

        // 13. The client closes with a stream error, then the closing tag (RFC 6120 §4.4, §4.9).
        PlainLogin +
        "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Some text</text></stream:error>" + Close,

        // 14. HTTP upload slot request, Jingle message initiation, an OMEMO-style encrypted message (XEP-0363, -0353, -0384).
        PlainLogin +
        "<iq type='get' id='up1' to='upload.example.com'><request xmlns='urn:xmpp:http:upload:0' filename='très cool.jpg' size='23456' content-type='image/jpeg'/></iq>" +
        "<message to='romeo@example.net' id='jm1'><propose xmlns='urn:xmpp:jingle-message:0' id='a73sjjvkla37jfea'>" +
        "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>" +
        "<message to='romeo@example.net' type='chat' id='om1'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='27183'>" +
        "<key rid='31415'>" + new string('Q', 180) + "</key><iv>" + new string('A', 16) + "==</iv></header><payload>" + new string('z', 400) + "</payload></encrypted>" +
        "<encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl'/><body>I sent you an OMEMO encrypted message.</body></message>",

        // 15. A byte order mark before the declaration, in-band registration before login (XEP-0077).
        "\uFEFF" + Decl + Open +
        "<iq type='get' id='reg1'><query xmlns='jabber:iq:register'/></iq>" +
        "<iq type='set' id='reg2'><query xmlns='jabber:iq:register'><username>bill</username><password>Calliope</password><email>bard@shakespeare.lit</email></query></iq>" +
        "<iq type='set' id='reg3'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>" +
        "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field><field type='text-single' var='first'><value>Juliet</value></field></x></query></iq>",

        // 16. Deeply structured ad-hoc command form (XEP-0050) and a reply with delayed delivery (XEP-0203).
        PlainLogin +
        "<iq type='set' id='exec1' to='example.com'><command xmlns='http://jabber.org/protocol/commands' node='http://jabber.org/protocol/admin#add-user' action='execute'/></iq>" +
        "<message to='romeo@example.net' type='chat'><body>late</body><delay xmlns='urn:xmpp:delay' from='capulet.com' stamp='2002-09-10T23:08:25Z'>Offline Storage</delay>" +
        "<reply xmlns='urn:xmpp:reply:0' to='romeo@example.net/orchard' id='m1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='6'/></fallback></message>",
    ];
}

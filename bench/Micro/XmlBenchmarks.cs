using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using LuaXmpp.Xml;

namespace LuaXmpp.Bench.Micro;

/// <summary>Parsing one typical message off the wire, and writing it back.</summary>
[MemoryDiagnoser]
public class XmlBenchmarks
{
    private static readonly byte[] Header =
        Encoding.UTF8.GetBytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>");

    private readonly byte[] _message = Encoding.UTF8.GetBytes(Samples.Message);
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private XmlStreamParser _parser = null!;
    private XmlElement _element = null!;

    [GlobalSetup]
    public void Setup()
    {
        _parser = new XmlStreamParser(new XmlStreamLimits());
        var header = new ReadOnlySequence<byte>(Header);
        if (!_parser.TryRead(ref header, out _)) throw new InvalidOperationException("stream header not parsed");
        _element = Parse();
    }

    /// <summary>One depth-1 element through the stream parser (scan + build), as a connection does.</summary>
    [Benchmark]
    public XmlElement ParseMessage() => Parse();

    private XmlElement Parse()
    {
        var buffer = new ReadOnlySequence<byte>(_message);
        if (_parser.TryRead(ref buffer, out var ev) && ev is StreamElementEvent element) return element.Element;
        throw new InvalidOperationException("message not parsed: " + ev);
    }

    /// <summary>The element to UTF-8 bytes, as the connection writer does.</summary>
    [Benchmark]
    public int SerializeMessage()
    {
        _output.ResetWrittenCount();
        XmlElementWriter.Write(_output, _element, "jabber:client");
        return _output.WrittenCount;
    }

    [Benchmark]
    public string SerializeToString() => XmlElementWriter.ToXmlString(_element, "jabber:client");
}

using System.Text;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>Collects a long-running child's output lines; safe to use from any thread.</summary>
public sealed class OutputBuffer
{
    private readonly StringBuilder _text = new();

    public void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_text)
        {
            _text.AppendLine(line);
        }
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }
}

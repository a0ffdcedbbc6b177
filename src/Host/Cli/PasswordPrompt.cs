namespace LuaXmpp.Host.Cli;

/// <summary>
/// Reads a password as prosodyctl does: from a terminal without echo, or one line from
/// redirected input (scripts, tests).
/// </summary>
public static class PasswordPrompt
{
    public static string? Read(CommandContext context, string prompt)
    {
        context.Stdout.Write(prompt);
        context.Stdout.Flush();
        if (!ReferenceEquals(context.Stdin, Console.In) || Console.IsInputRedirected)
        {
            var line = context.Stdin.ReadLine();
            context.Stdout.WriteLine();
            return line;
        }
        var typed = new System.Text.StringBuilder();
        while (true)
        {
            // intercept: the key is not shown.
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (typed.Length > 0) typed.Length--;
            }
            else if (key.KeyChar != '\0') typed.Append(key.KeyChar);
        }
        context.Stdout.WriteLine();
        return typed.ToString();
    }
}

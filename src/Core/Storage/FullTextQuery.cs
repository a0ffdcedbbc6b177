using System.Globalization;
using System.Text;

namespace LuaXmpp.Storage;

/// <summary>
/// One term of a full-text query: a word (one entry), a quoted phrase (several), or a prefix
/// (<c>word*</c>). Words are as typed (only letters, digits and marks): each store folds them as
/// its index folds bodies, so a word matches there exactly what that index holds.
/// </summary>
public sealed record FullTextTerm(IReadOnlyList<string> Words, bool Prefix)
{
    public bool Equals(FullTextTerm? other) => other is not null && Prefix == other.Prefix && Words.SequenceEqual(other.Words);

    public override int GetHashCode() => HashCode.Combine(Prefix, Words.Count, Words.Count > 0 ? Words[0] : "");
}

/// <summary>
/// The text of XEP-0431's <c>{urn:xmpp:fulltext:0}fulltext</c> field, read into terms every one of
/// which must match a message body: whole words, case- and accent-insensitively; <c>word*</c> a
/// prefix; <c>"a phrase"</c> consecutive words. Nothing else has a meaning: operators (AND, OR,
/// NOT, NEAR, -, +, :, parentheses), an unbalanced quote and every other punctuation mark only
/// separate words, so no input can reach a database as syntax. The number of words is capped so
/// a query's cost stays bounded (XEP-0431 §4 leaves the syntax to the server).
/// </summary>
public sealed record FullTextQuery
{
    /// <summary>Most words in one query, phrases counted word by word.</summary>
    public const int MaxWords = 16;

    /// <summary>Longest word; longer ones are no words anyone types, and PostgreSQL drops them from its index.</summary>
    public const int MaxWordLength = 100;

    /// <summary>A prefix shorter than this is searched as a whole word: <c>a*</c> would merge most of the index.</summary>
    public const int MinPrefixLength = 2;

    private FullTextQuery(IReadOnlyList<FullTextTerm> terms) => Terms = terms;

    public IReadOnlyList<FullTextTerm> Terms { get; }

    public bool Equals(FullTextQuery? other) => other is not null && Terms.SequenceEqual(other.Terms);

    public override int GetHashCode() => Terms.Count;

    public override string ToString() => string.Join(" ", Terms.Select(t =>
        t.Words.Count > 1 ? "\"" + string.Join(" ", t.Words) + "\"" : t.Words[0] + (t.Prefix ? "*" : "")));

    /// <summary>Reads the field's text; null and an error text when it holds nothing searchable or too much.</summary>
    public static FullTextQuery? Parse(string text, out string? error)
    {
        var terms = new List<FullTextTerm>();
        int words = 0;
        error = null;
        int i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"' && text.IndexOf('"', i + 1) is var close and > 0)
            {
                // A phrase: the words between a pair of quotes, in order.
                var phrase = Words(text.AsSpan(i + 1, close - i - 1)).Where(Searchable).ToList();
                if (phrase.Count > 0) terms.Add(new FullTextTerm(phrase, Prefix: false));
                words += phrase.Count;
                i = close + 1;
                if (words > MaxWords) break;
                continue;
            }
            if (WordCharLength(text, i) == 0)
            {
                i++; // a separator, a lone quote, an operator character
                continue;
            }
            int start = i;
            i = WordEnd(text, i);
            var word = text.Substring(start, i - start);
            bool prefix = i < text.Length && text[i] == '*' && word.Length >= MinPrefixLength;
            if (Searchable(word)) terms.Add(new FullTextTerm([word], prefix));
            // Counting stops early: the rest of a long text is not read.
            if (++words > MaxWords) break;
        }
        if (terms.Count == 0)
        {
            error = "fulltext: no words to search for";
            return null;
        }
        if (words > MaxWords)
        {
            error = $"fulltext: too many words (at most {MaxWords})";
            return null;
        }
        if (terms.SelectMany(t => t.Words).Any(w => w.Length > MaxWordLength))
        {
            error = $"fulltext: a word longer than {MaxWordLength} characters";
            return null;
        }
        return new FullTextQuery(terms);
    }

    /// <summary>A word of marks alone (a stray accent) folds to nothing and is no term.</summary>
    private static bool Searchable(string word) => Fold(word).Length > 0;

    /// <summary>Whether a body's text holds every term (the memory store's search; the SQL stores ask their index).</summary>
    public bool Matches(string body)
    {
        var tokens = Words(body.AsSpan()).Select(Fold).ToList();
        foreach (var term in Terms)
        {
            if (!Contains(tokens, term)) return false;
        }
        return true;
    }

    private static bool Contains(List<string> tokens, FullTextTerm term)
    {
        for (int at = 0; at + term.Words.Count <= tokens.Count; at++)
        {
            bool all = true;
            for (int k = 0; k < term.Words.Count && all; k++)
            {
                bool last = k == term.Words.Count - 1;
                var word = Fold(term.Words[k]);
                all = term.Prefix && last
                    ? tokens[at + k].StartsWith(word, StringComparison.Ordinal)
                    : tokens[at + k] == word;
            }
            if (all) return true;
        }
        return false;
    }

    /// <summary>The words of a text as written: runs of letters, digits and marks, as SQLite's unicode61 tokenizer splits them.</summary>
    public static List<string> Words(ReadOnlySpan<char> text)
    {
        var tokens = new List<string>();
        int i = 0;
        string s = text.ToString();
        while (i < s.Length)
        {
            if (WordCharLength(s, i) == 0)
            {
                i++;
                continue;
            }
            int start = i;
            i = WordEnd(s, i);
            tokens.Add(s.Substring(start, i - start));
        }
        return tokens;
    }

    private static int WordEnd(string s, int i)
    {
        while (i < s.Length && WordCharLength(s, i) is var n and > 0) i += n;
        return i;
    }

    /// <summary>
    /// The length (1, or 2 for a surrogate pair) of the word character at i, 0 for a separator.
    /// Word characters: letters, digits, private-use characters and combining marks (which belong
    /// to the letter before them); unpaired surrogates separate.
    /// </summary>
    private static int WordCharLength(string s, int i)
    {
        int length = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
        if (length == 1 && char.IsSurrogate(s[i])) return 0;
        var category = char.GetUnicodeCategory(s, i);
        return category switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
                or UnicodeCategory.PrivateUse or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark => length,
            _ => 0,
        };
    }

    /// <summary>A word as the memory store compares it: lower case, accents removed (decomposed, non-spacing marks dropped), as unicode61 folds.</summary>
    public static string Fold(string word)
    {
        var decomposed = word.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark) continue;
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString().Normalize(NormalizationForm.FormC);
    }
}

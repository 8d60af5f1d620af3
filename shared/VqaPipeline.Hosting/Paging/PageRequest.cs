using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VqaPipeline.Hosting.Paging;

/// <summary>One page of a list: at most the asked number of items, and the cursor of the next page (null on the last).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>The limits every list of the API shares.</summary>
public static class Paging
{
    /// <summary>Items per page when the request names no <c>limit</c>.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The most items one page holds.</summary>
    public const int MaxLimit = 1000;

    /// <summary>The 400 of a cursor this list did not give (malformed, altered, another list's or another team's).</summary>
    public const string BadCursorDetail = "cursor is not one this list gave: pass nextCursor of the previous page unchanged";
}

/// <summary>
/// The page a list request asks for, bound from <c>?limit=</c> (default <see cref="Paging.DefaultLimit"/>, 1 to
/// <see cref="Paging.MaxLimit"/>) and <c>?cursor=</c> (the <c>nextCursor</c> of the page before): a handler takes it
/// as a parameter, keeps the rows after <see cref="After"/> in the list's order (keyset, never an offset), takes
/// <see cref="Fetch"/> of them and answers <see cref="ToPage{TRow,TItem}"/>. A bad limit or cursor is a 400 (problem
/// details). The cursor is opaque: the last key of the page (<typeparamref name="TKey"/> as JSON, base64url) sealed
/// with an HMAC over the caller's team and the request path under the gateway's internal secret, so a cursor altered,
/// of another list, or of another team is refused rather than read.
/// </summary>
public sealed class PageRequest<TKey> : IEndpointParameterMetadataProvider where TKey : class
{
    /// <summary>Marks the endpoint as a paged list, so its OpenAPI operation names <c>limit</c> and <c>cursor</c>.</summary>
    public static void PopulateMetadata(ParameterInfo parameter, EndpointBuilder builder) =>
        builder.Metadata.Add(PagedList.Marker);

    private readonly byte[] _sealKey;
    private readonly string _scope;

    private PageRequest(int limit, TKey? after, byte[] sealKey, string scope)
    {
        Limit = limit;
        After = after;
        _sealKey = sealKey;
        _scope = scope;
    }

    /// <summary>How many items the page holds at most.</summary>
    public int Limit { get; }

    /// <summary>The key of the last item of the page before; null for the first page.</summary>
    public TKey? After { get; }

    /// <summary>How many rows to read: one more than <see cref="Limit"/>, which tells whether a next page exists.</summary>
    public int Fetch => Limit + 1;

    /// <summary>Binds the request's <c>limit</c> and <c>cursor</c>; throws a 400 that says what was wrong.</summary>
    public static ValueTask<PageRequest<TKey>?> BindAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var limit = Paging.DefaultLimit;
        if (query.TryGetValue("limit", out var limitValues)
            && (limitValues.Count != 1
                || !int.TryParse(limitValues[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit)
                || limit is < 1 or > Paging.MaxLimit))
            throw new BadHttpRequestException(
                $"limit '{limitValues}' is not a whole number from 1 to {Paging.MaxLimit}", StatusCodes.Status400BadRequest);

        var secret = context.RequestServices.GetRequiredService<IConfiguration>()[GatewayHeaders.InternalSecretSetting] ?? "";
        var sealKey = SHA256.HashData(Encoding.UTF8.GetBytes("vqa-page-cursor\n" + secret));
        var scope = $"{context.Caller().TeamId:N}\n{context.Request.Path.Value?.TrimEnd('/').ToLowerInvariant()}";
        TKey? after = null;
        if (query.TryGetValue("cursor", out var cursorValues) && cursorValues.ToString().Length > 0)
            after = (cursorValues.Count == 1 ? Open(cursorValues[0]!, sealKey, scope) : null)
                    ?? throw new BadHttpRequestException(Paging.BadCursorDetail, StatusCodes.Status400BadRequest);
        return ValueTask.FromResult<PageRequest<TKey>?>(new PageRequest<TKey>(limit, after, sealKey, scope));
    }

    /// <summary>
    /// The page of <paramref name="rows"/> (read in the list's order after <see cref="After"/>, at most
    /// <see cref="Fetch"/>): the first <see cref="Limit"/> as items, and a cursor after the last of them when more rows
    /// were there.
    /// </summary>
    public Page<TItem> ToPage<TRow, TItem>(IReadOnlyList<TRow> rows, Func<TRow, TKey> keyOf, Func<TRow, TItem> toItem)
    {
        var items = rows.Take(Limit).Select(toItem).ToList();
        return new Page<TItem>(items, rows.Count > Limit ? Seal(keyOf(rows[Limit - 1])) : null);
    }

    /// <summary><see cref="ToPage{TRow,TItem}"/> for rows that are the items.</summary>
    public Page<TItem> ToPage<TItem>(IReadOnlyList<TItem> rows, Func<TItem, TKey> keyOf) => ToPage(rows, keyOf, row => row);

    private string Seal(TKey key)
    {
        var payload = WebEncoders.Base64UrlEncode(JsonSerializer.SerializeToUtf8Bytes(key, JsonSerializerOptions.Web));
        return payload + "." + WebEncoders.Base64UrlEncode(Mac(payload, _sealKey, _scope));
    }

    private static TKey? Open(string cursor, byte[] sealKey, string scope)
    {
        var dot = cursor.IndexOf('.');
        if (dot <= 0)
            return null;
        var payload = cursor[..dot];
        try
        {
            if (!CryptographicOperations.FixedTimeEquals(WebEncoders.Base64UrlDecode(cursor[(dot + 1)..]), Mac(payload, sealKey, scope)))
                return null;
            return JsonSerializer.Deserialize<TKey>(WebEncoders.Base64UrlDecode(payload), JsonSerializerOptions.Web);
        }
        catch (Exception exception) when (exception is FormatException or JsonException)
        {
            return null;
        }
    }

    private static byte[] Mac(string payload, byte[] sealKey, string scope) =>
        HMACSHA256.HashData(sealKey, Encoding.UTF8.GetBytes(scope + "\n" + payload));
}

/// <summary>The key of a list in the order of creation: when, then the id (which breaks ties).</summary>
public sealed record CreatedKey(DateTimeOffset At, Guid Id);

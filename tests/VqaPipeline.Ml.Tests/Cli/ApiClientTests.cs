using System.Net;
using System.Net.Sockets;
using System.Text;
using VqaPipeline.Cli;

namespace VqaPipeline.Ml.Tests.Cli;

public sealed class ApiClientTests
{
    [Theory]
    [InlineData(HttpStatusCode.NotFound, "application/problem+json",
        """{"type":"t","title":"Not Found","status":404,"detail":"job 1 does not exist","traceId":"abc","error":"job 1 does not exist"}""",
        "job 1 does not exist")]
    [InlineData(HttpStatusCode.BadRequest, "application/json", """{"error":"give one or more questions"}""", "give one or more questions")]
    [InlineData(HttpStatusCode.Forbidden, "application/problem+json", """{"title":"Forbidden","status":403}""", "Forbidden")]
    [InlineData(HttpStatusCode.BadGateway, "text/plain", "", "the API answered 502 Bad Gateway")]
    [InlineData(HttpStatusCode.InternalServerError, "text/plain", "upstream\nbroke", "upstream broke")]
    [InlineData(HttpStatusCode.Unauthorized, "application/problem+json", """{"detail":"no key"}""",
        "the API refused the key: set VQA_API_KEY (infra/local/up.sh prints one)")]
    public async Task An_error_response_becomes_the_one_line_a_person_acts_on(HttpStatusCode status, string mediaType, string body, string line)
    {
        using var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        Assert.Equal(line, await ApiClient.ErrorLineAsync(response, CancellationToken.None));
    }

    [Fact]
    public async Task An_api_that_does_not_answer_is_an_error_naming_its_url()
    {
        using var client = ApiClient.Create("http://127.0.0.1:1", key: null);
        var error = await Assert.ThrowsAsync<CliUsageException>(() => client.GetAsync<object>("jobs", CancellationToken.None));
        Assert.StartsWith("cannot reach the API at http://127.0.0.1:1/", error.Message);
    }

    [Fact]
    public async Task The_key_is_sent_as_a_bearer_token_and_the_url_from_the_option_wins()
    {
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var served = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            var authorization = context.Request.Headers["Authorization"];
            var path = context.Request.Url!.AbsolutePath;
            var bytes = Encoding.UTF8.GetBytes("""{"status":"running"}""");
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
            return (authorization, path);
        });

        using var client = ApiClient.Create($"http://127.0.0.1:{port}/base", "vqa_abcdefgh_secret");
        var job = await client.GetAsync<Dictionary<string, string>>("jobs/1", CancellationToken.None);

        Assert.Equal("running", job["status"]);
        Assert.Equal(("Bearer vqa_abcdefgh_secret", "/base/jobs/1"), await served);
    }

    [Fact]
    public void A_url_that_is_not_http_is_refused() =>
        Assert.Contains("is not an http(s) URL", Assert.Throws<CliUsageException>(() => ApiClient.Create("ftp://host", null)).Message);

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

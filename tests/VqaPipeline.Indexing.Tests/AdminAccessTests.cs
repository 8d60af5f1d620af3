using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using VqaPipeline.Hosting;

namespace VqaPipeline.Indexing.Tests;

/// <summary>Who may replay: with a token, its bearers; without one, callers on this machine only.</summary>
public sealed class AdminAccessTests
{
    private const string Token = "s3cret-admin-token";

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public void Without_a_token_a_caller_on_this_machine_may_replay(string address) =>
        Assert.Null(AdminAccess.Refusal(Request(address), adminToken: null));

    [Theory]
    [InlineData("172.18.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("2001:db8::7")]
    public void Without_a_token_a_caller_from_another_machine_is_refused_and_told_how_to_open_it(string address)
    {
        var refusal = AdminAccess.Refusal(Request(address), adminToken: "");

        Assert.Equal(403, StatusOf(refusal));
        Assert.Contains("Indexing:AdminToken", ((ProblemHttpResult)refusal!).ProblemDetails.Detail);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Basic czNjcmV0LWFkbWluLXRva2Vu")]
    [InlineData("Bearer s3cret-admin-token-and-more")]
    public void With_a_token_a_request_without_it_is_refused_even_from_this_machine(string? authorization)
    {
        var refusal = AdminAccess.Refusal(Request("127.0.0.1", authorization), Token);

        Assert.Equal(401, StatusOf(refusal));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("172.18.0.1")]
    public void With_a_token_its_bearer_may_replay_from_anywhere(string address) =>
        Assert.Null(AdminAccess.Refusal(Request(address, $"Bearer {Token}"), Token));

    [Fact]
    public void Through_the_gateway_an_admin_key_may_replay_and_only_with_the_gateways_secret()
    {
        const string secret = "gateway-internal-secret";
        DefaultHttpContext ViaGateway(string role, string givenSecret)
        {
            var context = Request("172.18.0.5");
            context.Request.Headers[GatewayHeaders.Role] = role;
            context.Request.Headers[GatewayHeaders.Secret] = givenSecret;
            return context;
        }

        Assert.Null(AdminAccess.Refusal(ViaGateway("admin", secret), Token, secret));
        Assert.Equal(401, StatusOf(AdminAccess.Refusal(ViaGateway("trainer", secret), Token, secret)));
        Assert.Equal(401, StatusOf(AdminAccess.Refusal(ViaGateway("admin", "forged"), Token, secret)));
        // No secret configured: the headers mean nothing.
        Assert.Equal(403, StatusOf(AdminAccess.Refusal(ViaGateway("admin", ""), adminToken: null, gatewaySecret: null)));
    }

    private static DefaultHttpContext Request(string remoteAddress, string? authorization = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remoteAddress);
        if (authorization is not null) context.Request.Headers.Authorization = authorization;
        return context;
    }

    private static int? StatusOf(IResult? result) => (result as IStatusCodeHttpResult)?.StatusCode;
}

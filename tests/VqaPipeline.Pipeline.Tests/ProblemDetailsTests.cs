using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Gateway;
using VqaPipeline.Hosting;
using VqaPipeline.Pipeline.Tests.Support;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Pipeline.Tests;

/// <summary>
/// Every error of every API, through the gateway, is RFC 7807 problem details with the sentence saying what was wrong
/// (<c>detail</c>, and <c>error</c> for older clients) and the trace id: the API's own refusals, missing resources,
/// malformed bodies, unknown routes, real faults (a table gone from under a service) and an owner that is down.
/// </summary>
public sealed class ProblemDetailsTests(ApiOwnersStack owners) : IClassFixture<ApiOwnersStack>
{
    private ServiceStack Stack => owners.Stack;

    [StackFact]
    public async Task Refusals_and_missing_resources_of_every_service_are_problem_details_with_the_apis_sentence()
    {
        var unknown = Guid.NewGuid();
        var cases = new (HttpRequestMessage Request, HttpStatusCode Status, string Sentence)[]
        {
            (Post("/collections", """{"name": ""}"""), HttpStatusCode.BadRequest, "a collection needs a non-empty name"),
            (Get($"/collections/{unknown}"), HttpStatusCode.NotFound, $"collection {unknown} does not exist"),
            (Post("/jobs", $$"""{"collectionId": "{{unknown}}", "questions": ["what is it?"]}"""), HttpStatusCode.NotFound,
                $"collection {unknown} does not exist"),
            (Get($"/jobs/{unknown}"), HttpStatusCode.NotFound, $"job {unknown} does not exist"),
            (Get($"/training-runs/{unknown}"), HttpStatusCode.NotFound, $"training run {unknown} does not exist"),
            (Get("/search?question=is%20there%20a%20dog"), HttpStatusCode.BadRequest, "answer"),
            (Get($"/search?question=dog&answer=yes&collection={unknown}"), HttpStatusCode.NotFound, $"collection {unknown} does not exist"),
        };
        foreach (var (request, status, sentence) in cases)
        {
            var problem = await SendAsync(request, status);
            Assert.Contains(sentence, problem.Detail);
        }
    }

    [StackFact]
    public async Task Malformed_bodies_and_values_of_the_wrong_type_are_400_problem_details_at_every_service()
    {
        foreach (var path in new[] { "/collections", "/jobs", "/training-runs", "/admin/replay" })
        {
            var malformed = await SendAsync(Post(path, "{\"name\": "), HttpStatusCode.BadRequest);
            Assert.Contains("JSON", malformed.Detail);
        }
        var wrongType = await SendAsync(Post("/collections", """{"name": 5}"""), HttpStatusCode.BadRequest);
        Assert.Contains("JSON", wrongType.Detail);
    }

    [StackFact]
    public async Task Unknown_routes_are_404_problem_details_at_the_gateway_and_at_each_service()
    {
        var atGateway = await SendAsync(Get("/nowhere"), HttpStatusCode.NotFound);
        Assert.Equal("there is no GET /nowhere", atGateway.Detail);
        foreach (var service in new[] { Services.Ingestion, Services.Inference, Services.Training, Services.Indexing })
        {
            using var direct = new HttpClient { BaseAddress = Stack.AddressOf(service) };
            using var response = await direct.GetAsync("/nowhere");
            await AssertProblemAsync(response, HttpStatusCode.NotFound);
        }
    }

    [StackFact]
    public async Task A_fault_inside_a_service_is_a_500_problem_with_a_generic_detail_and_the_trace_id_never_a_stack_trace()
    {
        using var created = await Stack.Api.PostAsJsonAsync("/collections", new { name = $"faults-{Guid.NewGuid():N}" });
        var collectionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        // Each service loses the table the request reads (an operator's mistake, a botched migration): a real fault.
        foreach (var (table, path) in new[]
                 {
                     ("ingestion.collections", $"/collections/{collectionId}"),
                     ("inference.question_jobs", $"/jobs/{Guid.NewGuid()}"),
                     ("training.training_runs", $"/training-runs/{Guid.NewGuid()}"),
                     ("indexing.search_jobs", $"/search?question=is%20there%20a%20dog&answer=yes&collection={collectionId}"),
                 })
        {
            var name = table.Split('.')[1];
            await Stack.Database.ExecuteAsync($"ALTER TABLE {table} RENAME TO {name}_away");
            try
            {
                using var response = await Stack.Api.GetAsync(path);
                var body = await response.Content.ReadAsStringAsync();
                var problem = await AssertProblemAsync(response, HttpStatusCode.InternalServerError);
                Assert.Equal(ApiProblem.UnexpectedDetail, problem.Detail);
                Assert.DoesNotContain(name, body);
                Assert.DoesNotContain(" at ", body);
            }
            finally
            {
                await Stack.Database.ExecuteAsync($"ALTER TABLE {table}_away RENAME TO {name}");
            }
        }
    }

    [StackFact]
    public async Task An_owner_that_is_down_is_a_502_problem_at_the_gateway_naming_the_service()
    {
        await Stack.StopServiceAsync(Services.Training);
        try
        {
            using var response = await Stack.Api.GetAsync("/models");
            var problem = await AssertProblemAsync(response, HttpStatusCode.BadGateway);
            Assert.Contains("training service", problem.Detail);
        }
        finally
        {
            await Stack.StartServiceAsync(Services.Training);
        }
    }

    [StackFact]
    public async Task The_api_reference_page_and_its_script_are_served_by_the_gateway_without_a_cdn()
    {
        using var page = await Stack.Api.GetAsync(ApiReference.Path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains(OpenApiDocuments.Path.TrimStart('/'), html);
        Assert.DoesNotContain("cdn.", html);
        var scripts = System.Text.RegularExpressions.Regex.Matches(html, "<script[^>]*src=\"([^\"]+)\"").Select(match => match.Groups[1].Value).ToList();
        Assert.Contains("scalar.js", scripts);
        var largest = 0L;
        foreach (var script in scripts)
        {
            Assert.False(Uri.TryCreate(script, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http"),
                $"the page loads {script} from elsewhere");
            using var served = await Stack.Api.GetAsync(new Uri(new Uri(Stack.Api.BaseAddress!, ApiReference.Path + "/"), script));
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal("text/javascript", served.Content.Headers.ContentType?.MediaType);
            largest = Math.Max(largest, (await served.Content.ReadAsByteArrayAsync()).LongLength);
        }
        // The whole of Scalar (megabytes), not a loader that would fetch it from elsewhere.
        Assert.True(largest > 1 << 20, $"the largest script is {largest} bytes");
    }

    private static HttpRequestMessage Get(string path) => new(HttpMethod.Get, path);

    private static HttpRequestMessage Post(string path, string json) =>
        new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private async Task<ErrorResponse> SendAsync(HttpRequestMessage request, HttpStatusCode status)
    {
        using (request)
        using (var response = await Stack.Api.SendAsync(request))
            return await AssertProblemAsync(response, status);
    }

    /// <summary>The response is problem details with every member; <c>error</c> repeats <c>detail</c>.</summary>
    private static async Task<ErrorResponse> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
        Assert.Equal(ApiProblem.ContentType, response.Content.Headers.ContentType?.MediaType);
        var problem = JsonSerializer.Deserialize<ErrorResponse>(body, JsonSerializerOptions.Web)!;
        Assert.False(string.IsNullOrEmpty(problem.Type), body);
        Assert.False(string.IsNullOrEmpty(problem.Title), body);
        Assert.Equal((int)status, problem.Status);
        Assert.False(string.IsNullOrEmpty(problem.Detail), body);
        Assert.Equal(problem.Detail, problem.Error);
        Assert.False(string.IsNullOrEmpty(problem.TraceId), body);
        return problem;
    }
}

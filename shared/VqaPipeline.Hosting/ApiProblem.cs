using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Messaging.Redelivery;

namespace VqaPipeline.Hosting;

/// <summary>
/// The one writer of API errors: RFC 7807 problem details (<c>application/problem+json</c>) with <c>type</c>,
/// <c>title</c>, <c>status</c>, <c>detail</c> (the sentence saying what was wrong), <c>traceId</c> and <c>error</c>
/// (the detail again, for clients written before). The same members are given to what the framework writes: unhandled
/// exceptions (a 500 with a generic detail, never a stack trace; a 503 with <c>Retry-After</c> when the fault is transient,
/// a database restart say, as <see cref="TransientFaults"/> judges it), malformed bodies and wrong parameter types (400),
/// unknown routes and every other empty error status.
/// </summary>
public static class ApiProblem
{
    public const string ContentType = "application/problem+json";

    /// <summary>The detail of a 500: what went wrong is in the service's log, under the trace id.</summary>
    public const string UnexpectedDetail = "the server failed to handle the request; its log has the details under this traceId";

    /// <summary>The detail of a 503 for a transient fault: the request was fine, something it needs was away.</summary>
    public const string TransientDetail =
        "the database or object store this request needs did not answer (a restart or outage); try again shortly";

    /// <summary>Seconds a client is told to wait (<c>Retry-After</c>) after a transient fault.</summary>
    public const int TransientRetryAfterSeconds = 5;

    /// <summary>An error response with <paramref name="status"/> saying <paramref name="detail"/>.</summary>
    public static ProblemHttpResult Of(int status, string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = status, Detail = detail, Extensions = { ["error"] = detail } });

    /// <summary>400: the request is wrong.</summary>
    public static ProblemHttpResult BadRequest(string detail) => Of(StatusCodes.Status400BadRequest, detail);

    /// <summary>404: what the request names does not exist.</summary>
    public static ProblemHttpResult NotFound(string detail) => Of(StatusCodes.Status404NotFound, detail);

    /// <summary>409: the request conflicts with the resource's state.</summary>
    public static ProblemHttpResult Conflict(string detail) => Of(StatusCodes.Status409Conflict, detail);

    /// <summary>503: something the request needs does not answer now.</summary>
    public static ProblemHttpResult Unavailable(string detail) => Of(StatusCodes.Status503ServiceUnavailable, detail);

    /// <summary>
    /// Writes problem details for every error of the host: registers the problem details service with the members
    /// above, and (through a startup filter, so no service has to remember it) the exception handler and status code
    /// pages at the front of its pipeline.
    /// </summary>
    public static IServiceCollection AddVqaProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = Complete);
        // A malformed body or a parameter of the wrong type reaches the exception handler, which says what was wrong.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddTransient<IStartupFilter, ProblemDetailsStartupFilter>();
        return services;
    }

    /// <summary>Gives every problem its detail, the detail as <c>error</c>, and the trace id.</summary>
    private static void Complete(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (context.Exception is BadHttpRequestException badRequest)
        {
            problem.Status = badRequest.StatusCode;
            problem.Detail ??= badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? BodyTooLargeDetail(context.HttpContext)
                : badRequest.Message;
        }
        else if (context.Exception is not null && TransientFaults.IsTransient(context.Exception))
        {
            // A database restart or S3 outage is not the server's bug: the client should come back, not report it.
            problem.Status = StatusCodes.Status503ServiceUnavailable;
            problem.Detail ??= TransientDetail;
            context.HttpContext.Response.Headers.RetryAfter = TransientRetryAfterSeconds.ToString();
        }
        else if (context.Exception is not null)
            problem.Detail ??= UnexpectedDetail;
        problem.Detail ??= DefaultDetail(context.HttpContext, problem.Status ?? context.HttpContext.Response.StatusCode);
        problem.Extensions["error"] = problem.Detail;
        problem.Extensions["traceId"] = Activity.Current is { } activity
            ? activity.TraceId.ToHexString()
            : context.HttpContext.TraceIdentifier;
    }

    /// <summary>The sentence of an error status that nobody explained (an empty 404 from routing, say).</summary>
    private static string DefaultDetail(HttpContext context, int status) => status switch
    {
        StatusCodes.Status404NotFound => $"there is no {context.Request.Method} {context.Request.Path}",
        StatusCodes.Status405MethodNotAllowed => $"{context.Request.Path} does not take {context.Request.Method}",
        StatusCodes.Status413PayloadTooLarge => BodyTooLargeDetail(context),
        StatusCodes.Status500InternalServerError => UnexpectedDetail,
        _ => ReasonPhrase(status),
    };

    /// <summary>The detail of a body over the route's limit (<see cref="RequestBodyLimits"/>), with that limit.</summary>
    private static string BodyTooLargeDetail(HttpContext context) =>
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } limit
            ? $"the request body is larger than the {limit} bytes {context.Request.Method} {context.Request.Path} takes"
            : "the request body is larger than this route takes";

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase
            ? $"{status} {phrase}"
            : $"status {status}";

    private sealed class ProblemDetailsStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseExceptionHandler(new ExceptionHandlerOptions
            {
                StatusCodeSelector = exception => exception switch
                {
                    BadHttpRequestException badRequest => badRequest.StatusCode,
                    _ when TransientFaults.IsTransient(exception) => StatusCodes.Status503ServiceUnavailable,
                    _ => StatusCodes.Status500InternalServerError,
                },
            });
            app.UseStatusCodePages();
            next(app);
        };
    }
}

/**
 * Fastify's own Ajv validators, compiled the first time a route is called rather than at start.
 * The REST surface has a schema for the body, query string and path of some fifty operations;
 * compiled up front they cost the gateway about 25 MB of resident memory, most of it for routes a
 * deployment never calls.
 *
 * Bodies are validated without coercion: JSON says what type a value is, and a caller who sends
 * `true` or `["g1"]` where a name is expected made a mistake that must be refused, not turned into a
 * group called "true". Query strings and paths are text, so they keep Fastify's coercion (`?limit=10`
 * is the integer 10).
 */
import AjvCompiler from '@fastify/ajv-compiler';

type BuildCompiler = ReturnType<typeof AjvCompiler>;
type Validate = ReturnType<ReturnType<BuildCompiler>>;
type CompilerOptions = Parameters<BuildCompiler>[1];

export const buildLazyValidator = ((externalSchemas, options: CompilerOptions) => {
  const compileText = AjvCompiler()(externalSchemas, options);
  const strictOptions = { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as CompilerOptions;
  const compileJson = AjvCompiler()(externalSchemas, strictOptions);
  return (route) => {
    const compile = (route as unknown as { httpPart?: string }).httpPart === 'body' ? compileJson : compileText;
    let validate: Validate | undefined;
    // Fastify reads a failed validation's errors from the function it was given.
    const lazy = ((data: unknown, context?: unknown) => {
      validate ??= compile(route);
      const valid = (validate as (data: unknown, context?: unknown) => boolean)(data, context);
      lazy.errors = validate.errors;
      return valid;
    }) as Validate;
    return lazy;
  };
}) as BuildCompiler;

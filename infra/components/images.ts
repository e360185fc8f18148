import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as aws from '@pulumi/aws';
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';

/** The targets of the one multi-stage `containers/Dockerfile`. */
export const IMAGE_TARGETS = ['processing', 'training', 'inference', 'pipeline'] as const;
export type ImageTarget = (typeof IMAGE_TARGETS)[number];

export const DOCKERFILE = 'containers/Dockerfile';
export const IMAGE_PLATFORM = dockerBuild.Platform.Linux_amd64;
/** Tags that every build pushes again (the inline build cache's reference): the one mutable kind. */
export const REBUILT_TAG_FILTER = '*-container';
/** Untagged images (earlier digests) kept for rollbacks before the lifecycle policy expires them. */
export const UNTAGGED_IMAGES_KEPT = 10;

export interface ImagesArgs {
  /** ECR repository name for each image. */
  readonly repositoryName: (target: ImageTarget) => string;
}

export interface BuiltImage {
  readonly repository: aws.ecr.Repository;
  readonly lifecyclePolicy: aws.ecr.LifecyclePolicy;
  readonly image: dockerBuild.Image;
  /** Digest-pinned (`repo@sha256:…`): what uses it changes only when the image content changes. */
  readonly imageUri: pulumi.Output<string>;
}

/**
 * One ECR repository per image (scan on push, encrypted, tags immutable except the per-target build
 * tag) and the image built from the repository root for linux/amd64 and pushed to it with Docker
 * image manifest V2 schema 2 media types, which SageMaker requires (it rejects OCI manifests).
 *
 * Built with `@pulumi/docker-build` directly: `awsx.ecr.Image` (3.9) exposes no exporter options,
 * so it pushes whatever media types the local builder defaults to, and it names its inner image
 * from a hash of context, Dockerfile and build args only, so four targets of one Dockerfile
 * collide ("Duplicate resource URN", pulumi-awsx#1171).
 */
export class Images extends pulumi.ComponentResource {
  readonly images: Readonly<Record<ImageTarget, BuiltImage>>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('forecast:infra:Images', name, {}, opts);
    const context = buildContext();
    const images = {} as Record<ImageTarget, BuiltImage>;
    for (const target of IMAGE_TARGETS) images[target] = this.buildImage(`${name}-${target}`, target, args.repositoryName(target), context);
    this.images = Object.freeze(images);
    this.registerOutputs(Object.fromEntries(IMAGE_TARGETS.map((target) => [`${target}ImageUri`, images[target].imageUri])));
  }

  private buildImage(name: string, target: ImageTarget, repositoryName: string, context: string): BuiltImage {
    const repository = new aws.ecr.Repository(
      name,
      {
        name: repositoryName,
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: 'AES256' }],
        // Each build pushes the target's stable `<target>-container` tag again and consumers are
        // pinned by digest; every other tag is immutable.
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filter: REBUILT_TAG_FILTER, filterType: 'WILDCARD' }],
        // Images are rebuilt from source, so `pulumi destroy` may delete them with the repository.
        forceDelete: true,
      },
      { parent: this },
    );
    const lifecyclePolicy = new aws.ecr.LifecyclePolicy(
      name,
      { repository: repository.name, policy: JSON.stringify(untaggedImagesPolicy(UNTAGGED_IMAGES_KEPT)) },
      { parent: this },
    );
    const taggedName = pulumi.interpolate`${repository.repositoryUrl}:${imageTag(target)}`;
    const credentials = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, { parent: this });
    const image = new dockerBuild.Image(
      name,
      imageBuildArgs({
        target,
        context,
        taggedName,
        registry: { address: repository.repositoryUrl, username: credentials.userName, password: credentials.password },
      }),
      { parent: this },
    );
    return { repository, lifecyclePolicy, image, imageUri: pulumi.interpolate`${repository.repositoryUrl}@${image.digest}` };
  }
}

/** The tag each build pushes: one per target, so no two images of the stack share a name or a tag. */
export function imageTag(target: ImageTarget): string {
  return `${target}-container`;
}

/**
 * How one target is built and pushed: BuildKit's registry exporter with OCI media types off (Docker
 * V2 schema 2 manifests; docker-build also leaves out the provenance attestation, which would turn
 * the push into an OCI index), the previous push as inline cache, linux/amd64 only.
 */
export function imageBuildArgs(args: {
  readonly target: ImageTarget;
  readonly context: string;
  readonly taggedName: pulumi.Input<string>;
  readonly registry: dockerBuild.types.input.RegistryArgs;
}): dockerBuild.ImageArgs {
  return {
    context: { location: args.context },
    dockerfile: { location: path.join(args.context, DOCKERFILE) },
    target: args.target,
    platforms: [IMAGE_PLATFORM],
    tags: [args.taggedName],
    // The registry export pushes; `push: true` would add a second export with builder defaults.
    push: false,
    exports: [{ registry: { ociMediaTypes: false } }],
    cacheFrom: [{ registry: { ref: args.taggedName } }],
    cacheTo: [{ inline: {} }],
    registries: [args.registry],
  };
}

export function untaggedImagesPolicy(kept: number) {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Keep the ${kept} most recent untagged images (earlier digests) for rollbacks`,
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: kept },
        action: { type: 'expire' },
      },
    ],
  };
}

/**
 * The Docker build context: the repository root, relative to where Pulumi runs the program (the
 * project directory), so the build inputs do not depend on where the checkout lives.
 */
export function buildContext(cwd: string = process.cwd()): string {
  const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.relative(cwd, repositoryRoot) || '.';
}

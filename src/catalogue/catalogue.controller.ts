import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import { upsertItemsSchema } from '../domain/item.schema';
import type { Item } from '../domain/item';
import { SimilarService } from '../recommend/similar.service';
import { CatalogueService } from './catalogue.service';
import {
  catalogueParamsSchema,
  itemParamsSchema,
  listQuerySchema,
  similarQuerySchema,
  type SimilarQuery,
} from './catalogue.dto';

@ApiTags('catalogue')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/catalogues')
export class CatalogueController {
  constructor(
    private readonly catalogues: CatalogueService,
    private readonly similarService: SimilarService,
  ) {}

  @Put(':catalogue/items')
  @HttpCode(202)
  async upsert(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
    @Body(new ZodValidationPipe(upsertItemsSchema, 'body')) body: { items: Item[] },
  ): Promise<{ accepted: number }> {
    const { accepted } = await this.catalogues.upsert(params.catalogue, body.items);
    return { accepted };
  }

  @Get(':catalogue')
  async describe(@Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string }) {
    return this.catalogues.describe(params.catalogue);
  }

  @Get(':catalogue/items')
  async list(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
    @Query(new ZodValidationPipe(listQuerySchema, 'query')) query: { cursor: string; limit: number },
  ) {
    return this.catalogues.list(params.catalogue, query.cursor, query.limit);
  }

  @Get(':catalogue/items/:id')
  async get(
    @Param(new ZodValidationPipe(itemParamsSchema, 'path')) params: { catalogue: string; id: string },
  ) {
    return this.catalogues.getItem(params.catalogue, params.id);
  }

  @Delete(':catalogue/items/:id')
  @HttpCode(204)
  async remove(
    @Param(new ZodValidationPipe(itemParamsSchema, 'path')) params: { catalogue: string; id: string },
  ) {
    await this.catalogues.delete(params.catalogue, params.id);
  }

  @Get(':catalogue/items/:id/similar')
  async similar(
    @Param(new ZodValidationPipe(itemParamsSchema, 'path')) params: { catalogue: string; id: string },
    @Query(new ZodValidationPipe(similarQuerySchema, 'query')) query: SimilarQuery,
  ) {
    return {
      items: await this.similarService.similar(params.catalogue, params.id, query.limit, query.config),
    };
  }
}
